/**
 * `npm start` / `npm run extract`: the monthly extract, end to end, on this machine. The production
 * state machine (statemachines/) runs in aws-local-stepfunctions over the real handlers
 * (functions/), against stand-ins for S3, DynamoDB, Glue and SNS kept under the data dir, and the
 * embedded sample ODS (or a real PostgreSQL with --source). The Glue job runs on DuckDB, or with
 * --engine spark as glue/etl.py itself on a local Spark (local/glue-spark). docs/local.md.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { calendarDateIn, formatCalendarDate, formatMonth, parseCalendarDate, type CalendarDate } from '../functions/core/month';
import { InvalidInputError } from '../functions/core/errors';
import { parseRunInput } from '../functions/core/run-input';
import { parseChoice, parseCommandLine, parseCount, parsePostgresUrl, redactUrl, reportFailure } from './cli-options';
import { sparkToolchainProblem } from './glue-spark/spark-jobs';
import { startSampleOds } from './ods';
import { lockDataDir } from './pipeline/data-dir-lock';
import {
  GLUE_ENGINES,
  SIMULATED_FAILURES,
  sparkLogPath,
  startLocalStack,
  type ExecutionResult,
  type GlueEngine,
  type LocalStack,
  type SimulatedFailure,
} from './pipeline/local-stack';
import { ExecutionProgress, formatDuration, type StateTiming } from './pipeline/progress';
import { readPublishedMonth, type PublishedMonth } from './pipeline/published-month';
import { DEFAULT_SAMPLE_LOANS } from './sample/generate';
import { sparkSourceSettings } from './stand-ins/glue-spark-job';

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
    engine: { type: 'string' },
  });
  const timeZone = process.env.STAGE_TIME_ZONE || DEFAULT_TIME_ZONE;
  // The execution input, as the schedule ({}) or an operator ({"month": ..., "force": true}) sends it.
  const input: Record<string, unknown> = {};
  if (args.month !== undefined) input.month = args.month;
  if (args.force) input.force = true;
  const now = new Date();
  const month = formatMonth(parseRunInput(input, now, timeZone).month);
  const failure = parseChoice(args['simulate-failure'], 'simulate-failure', SIMULATED_FAILURES);
  const loans = parseCount(args.loans, 'loans', DEFAULT_SAMPLE_LOANS);
  const sourceUrl = parsePostgresUrl(args.source, 'source');
  const engine = parseChoice(args.engine, 'engine', GLUE_ENGINES) ?? 'duckdb';
  if (engine === 'spark') checkSparkEngine(sourceUrl);
  const dataDir = resolve(args['data-dir'] ?? '.local');
  // The sample is seeded by day; a given day reproduces another run's sample.
  const sampleDate = args['sample-date'] === undefined ? calendarDateIn(now, timeZone) : parseCalendarDate(args['sample-date'], 'sample-date');

  console.log(`Monthly loan extract for ${month}${args.month ? '' : ` (last complete month in ${timeZone})`}${args.force ? ', forced' : ''}`);
  const lock = await lockDataDir(dataDir);
  try {
    await runMonth({ input, month, failure, loans, sourceUrl, engine, dataDir, sampleDate, timeZone, reportPath: args.report });
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
  readonly engine: GlueEngine;
  readonly dataDir: string;
  readonly sampleDate: CalendarDate;
  readonly timeZone: string;
  readonly reportPath: string | undefined;
}

async function runMonth({ input, month, failure, loans, sourceUrl, engine, dataDir, sampleDate, timeZone, reportPath }: RunMonthOptions): Promise<void> {
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
    console.log(
      engine === 'spark'
        ? `  engine: spark (glue/etl.py on a local Spark; its log: ${shown(sparkLogPath(dataDir))})`
        : '  engine: duckdb (glue/sql on DuckDB; --engine spark runs glue/etl.py)',
    );
    const stack = await startLocalStack({ dataDir, sourceUrl: sourceUrl ?? ods!.url, timeZone, engine });
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
      if (reportPath) await writeFile(reportPath, `${JSON.stringify({ ...report, source, engine }, null, 2)}\n`);
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

/**
 * --engine spark reads the ODS as the Glue job does: its partitions in parallel sessions that all
 * import one exported snapshot. Refused before anything starts when that cannot work here.
 */
function checkSparkEngine(sourceUrl: string | undefined): void {
  if (!sourceUrl) {
    throw new InvalidInputError(
      'engine',
      'spark needs --source postgres://… (a real PostgreSQL server): the Spark job reads its partitions in parallel ' +
        'sessions that import one exported snapshot (pg_export_snapshot), and the embedded ODS (PGlite behind ' +
        'pglite-socket) is a single PostgreSQL session, which cannot serve them',
    );
  }
  try {
    sparkSourceSettings(sourceUrl);
  } catch (error) {
    throw new InvalidInputError('source', (error as Error).message);
  }
  const problem = sparkToolchainProblem();
  if (problem) throw new LocalSparkMissingError(`--engine spark needs the local Spark: ${problem}`);
}

class LocalSparkMissingError extends Error {
  override readonly name = 'LocalSparkMissing';
}

type Outcome = 'succeeded' | 'skipped' | 'busy' | 'failed';

/** Prints what happened and returns it as the --report JSON. */
async function summarize(stack: LocalStack, month: string, result: ExecutionResult, states: readonly StateTiming[], emails: readonly string[], totalMs: number) {
  const output = (result.output ?? {}) as { outcome?: string; message?: string };
  const outcome: Outcome = result.status !== 'SUCCEEDED' ? 'failed' : output.outcome === 'skipped' ? 'skipped' : output.outcome === 'busy' ? 'busy' : 'succeeded';
  const published = await readPublishedMonth(stack.publishedRoot, month);
  const record = await stack.ledger.get(month);

  console.log('');
  if (outcome === 'failed') {
    console.log(`✖ ${result.error ?? result.status}: ${result.cause ?? `the execution ended ${result.status}`}`);
  } else {
    console.log(`${outcome === 'succeeded' ? '✔' : '●'} ${output.message ?? `${month} ${outcome}`}`);
  }
  if (published) printPublished(published, published.runId === result.name ? 'published' : 'still published, unchanged,');
  else console.log(`  no files published for ${month}`);
  console.log(`  ledger: ${record ? `${record.status} (attempt ${record.attempt}, execution ${record.executionArn.split(':').pop()})` : 'no record of the month'}`);
  if (outcome === 'busy' && record) {
    // Only one local run uses a data dir at a time, so the holder is a run that was killed.
    console.log(`  that execution no longer runs here (a killed run?); the month is free again after ${record.leaseExpiresAt},`);
    console.log(`  or delete ${shown(join(stack.dataDir, 'dynamodb'))} to reset the local ledger`);
  }
  for (const email of emails) console.log(`  email to data-support: ${shown(join(stack.outboxDir, email))}`);
  if (result.statusChangeError) console.log(`  the status-change rule could not notify: ${result.statusChangeError}`);
  console.log(`  files: ${shown(stack.publishedRoot)}/   logs: ${shown(stack.logPath)}   (${formatDuration(totalMs)})`);

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

function printPublished(published: PublishedMonth, label: string): void {
  console.log(`  ${label} by run ${published.runId}: ${shown(published.manifestPath)}`);
  for (const file of published.files) {
    const check = file.matchesManifest ? '' : '  ✖ DOES NOT MATCH THE MANIFEST';
    console.log(`  ${shown(file.path)}\n      ${file.rows} rows, ${file.bytes} bytes, sha256 ${file.sha256}${check}`);
  }
}

/** A path as printed: relative to the working directory when under it. */
function shown(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') ? path : fromHere || '.';
}

async function listFolder(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [] as string[])).sort();
}

main().catch(reportFailure);
