/**
 * `npm start` / `npm run extract`: the monthly extract, end to end, on this machine. The production
 * state machine (statemachines/) runs in aws-local-stepfunctions over the real handlers
 * (functions/), against stand-ins for S3, DynamoDB, Glue and SNS kept under the data dir, and the
 * embedded sample ODS (or a real PostgreSQL with --source). docs/local.md.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { calendarDateIn, formatCalendarDate, formatMonth, parseCalendarDate, type CalendarDate } from '../functions/core/month';
import { InvalidInputError } from '../functions/core/errors';
import { parseRunInput } from '../functions/core/run-input';
import { parseCommandLine, parseCount, parsePostgresUrl, redactUrl, reportFailure } from './cli-options';
import { startSampleOds } from './ods';
import { lockDataDir } from './pipeline/data-dir-lock';
import { SIMULATED_FAILURES, startLocalStack, type ExecutionResult, type LocalStack, type SimulatedFailure } from './pipeline/local-stack';
import { ExecutionProgress, formatDuration, type StateTiming } from './pipeline/progress';
import { readPublishedMonth, type PublishedMonth } from './pipeline/published-month';
import { DEFAULT_SAMPLE_LOANS } from './sample/generate';

const DEFAULT_TIME_ZONE = 'Africa/Johannesburg';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    month: { type: 'string' },
    force: { type: 'boolean' },
    source: { type: 'string' },
    'data-dir': { type: 'string' },
    loans: { type: 'string' },
    'simulate-failure': { type: 'string' },
    'sample-date': { type: 'string' },
    report: { type: 'string' },
  });
  const timeZone = process.env.STAGE_TIME_ZONE || DEFAULT_TIME_ZONE;
  // The execution input, as the schedule ({}) or an operator ({"month": ..., "force": true}) sends it.
  const input: Record<string, unknown> = {};
  if (args.month !== undefined) input.month = args.month;
  if (args.force) input.force = true;
  const now = new Date();
  const month = formatMonth(parseRunInput(input, now, timeZone).month);
  const failure = parseSimulatedFailure(args['simulate-failure']);
  const loans = parseCount(args.loans, 'loans', DEFAULT_SAMPLE_LOANS);
  const sourceUrl = parsePostgresUrl(args.source, 'source');
  const dataDir = resolve(args['data-dir'] ?? '.local');
  // The sample is seeded by day; a given day reproduces another run's sample.
  const sampleDate = args['sample-date'] === undefined ? calendarDateIn(now, timeZone) : parseCalendarDate(args['sample-date'], 'sample-date');

  console.log(`Monthly loan extract for ${month}${args.month ? '' : ` (last complete month in ${timeZone})`}${args.force ? ', forced' : ''}`);
  const lock = await lockDataDir(dataDir);
  try {
    await runMonth({ input, month, failure, loans, sourceUrl, dataDir, sampleDate, timeZone, reportPath: args.report });
  } finally {
    await lock.release();
  }
}

interface RunMonthOptions {
  readonly input: Record<string, unknown>;
  readonly month: string;
  readonly failure: SimulatedFailure | undefined;
  readonly loans: number;
  readonly sourceUrl: string | undefined;
  readonly dataDir: string;
  readonly sampleDate: CalendarDate;
  readonly timeZone: string;
  readonly reportPath: string | undefined;
}

async function runMonth({ input, month, failure, loans, sourceUrl, dataDir, sampleDate, timeZone, reportPath }: RunMonthOptions): Promise<void> {
  const started = Date.now();
  let ods: Awaited<ReturnType<typeof startSampleOds>> | undefined;
  // In the --report, so the same sample can be loaded elsewhere (npm run seed, or a test).
  const source = sourceUrl ? { kind: 'postgres', url: redactUrl(sourceUrl) } : { kind: 'sample', loans, today: formatCalendarDate(sampleDate) };
  try {
    if (sourceUrl) {
      console.log(`  source: ${redactUrl(sourceUrl)}`);
    } else {
      ods = await startSampleOds({ loans, today: sampleDate });
      const s = ods.summary;
      console.log(`  source: embedded sample ODS, ${s.banks} banks, ${s.branches} branches, ${s.loans} loans ${s.firstMonth}..${s.lastMonth} (${formatDuration(Date.now() - started)})`);
    }
    const stack = await startLocalStack({ dataDir, sourceUrl: sourceUrl ?? ods!.url, timeZone });
    try {
      stack.simulateFailure(failure);
      if (failure) console.log(`  simulating a failure of: ${failure}`);
      const outboxBefore = await listFolder(stack.outboxDir);
      const progress = new ExecutionProgress((line) => console.log(line));
      const execution = stack.startExecution(input, (event) => progress.onEvent(event));
      console.log(`  execution ${execution.name}`);
      let interrupts = 0;
      const stop = () => {
        if (interrupts++ === 0) {
          console.log('\n  interrupted: stopping the execution (as "Stop execution" in the console)');
          execution.abort();
        } else {
          console.log('  still stopping: waiting for the running step to end, so nothing is left half-written');
        }
      };
      process.on('SIGINT', stop);
      const result = await execution.result;
      await stack.syncPublishedFiles();
      const emails = (await listFolder(stack.outboxDir)).filter((name) => !outboxBefore.includes(name));
      const ranMonth = (result.output as { month?: unknown } | undefined)?.month;
      const report = await summarize(stack, typeof ranMonth === 'string' ? ranMonth : month, result, progress.timings, emails, Date.now() - started);
      if (reportPath) await writeFile(reportPath, `${JSON.stringify({ ...report, source }, null, 2)}\n`);
      if (report.outcome === 'failed' || report.outcome === 'busy') process.exitCode = 1;
      await stack.stop().finally(() => process.off('SIGINT', stop));
    } catch (error) {
      await stack.stop().catch(() => undefined);
      throw error;
    }
  } finally {
    await ods?.stop();
  }
}

function parseSimulatedFailure(text: string | undefined): SimulatedFailure | undefined {
  if (text === undefined) return undefined;
  if (!(SIMULATED_FAILURES as readonly string[]).includes(text)) {
    throw new InvalidInputError('simulate-failure', `must be one of ${SIMULATED_FAILURES.join(', ')}, got "${text}"`);
  }
  return text as SimulatedFailure;
}

type Outcome = 'succeeded' | 'skipped' | 'busy' | 'failed';

/** Prints what happened and returns it as the --report JSON. */
async function summarize(stack: LocalStack, month: string, result: ExecutionResult, states: readonly StateTiming[], emails: readonly string[], totalMs: number) {
  const output = (result.output ?? {}) as { outcome?: string; message?: string };
  const outcome: Outcome = result.status !== 'SUCCEEDED' ? 'failed' : output.outcome === 'skipped' ? 'skipped' : output.outcome === 'busy' ? 'busy' : 'succeeded';
  const published = await readPublishedMonth(stack.publishedRoot, month);
  const record = await stack.ledger.get(month);
  const here = (path: string) => {
    const fromHere = relative(process.cwd(), path);
    return fromHere.startsWith('..') ? path : fromHere || '.';
  };

  console.log('');
  if (outcome === 'failed') {
    console.log(`✖ ${result.error ?? result.status}: ${result.cause ?? `the execution ended ${result.status}`}`);
  } else {
    console.log(`${outcome === 'succeeded' ? '✔' : '●'} ${output.message ?? `${month} ${outcome}`}`);
  }
  if (published) printPublished(published, published.runId === result.name ? 'published' : 'still published, unchanged,', here);
  else console.log(`  no files published for ${month}`);
  console.log(`  ledger: ${record ? `${record.status} (attempt ${record.attempt}, execution ${record.executionArn.split(':').pop()})` : 'no record of the month'}`);
  if (outcome === 'busy' && record) {
    // Only one local run uses a data dir at a time, so the holder is a run that was killed.
    console.log(`  that execution no longer runs here (a killed run?); the month is free again after ${record.leaseExpiresAt},`);
    console.log(`  or delete ${here(join(stack.dataDir, 'dynamodb'))} to reset the local ledger`);
  }
  for (const email of emails) console.log(`  email to data-support: ${here(join(stack.outboxDir, email))}`);
  if (result.statusChangeError) console.log(`  the status-change rule could not notify: ${result.statusChangeError}`);
  console.log(`  files: ${here(stack.publishedRoot)}/   logs: ${here(stack.logPath)}   (${formatDuration(totalMs)})`);

  return {
    outcome,
    month,
    executionName: result.name,
    status: result.status,
    error: result.error,
    cause: result.cause,
    totalMs,
    states,
    files: (published?.files ?? []).map((f) => ({ key: f.key, path: f.path, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
    ledgerStatus: record?.status,
    emails: emails.map((email) => join(stack.outboxDir, email)),
  };
}

function printPublished(published: PublishedMonth, label: string, here: (path: string) => string): void {
  console.log(`  ${label} by run ${published.runId}: ${here(published.manifestPath)}`);
  for (const file of published.files) {
    const check = file.matchesManifest ? '' : '  ✖ DOES NOT MATCH THE MANIFEST';
    console.log(`  ${here(file.path)}\n      ${file.rows} rows, ${file.bytes} bytes, sha256 ${file.sha256}${check}`);
  }
}

async function listFolder(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [] as string[])).sort();
}

main().catch(reportFailure);
