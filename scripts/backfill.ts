/**
 * `npm run backfill -- [--extract <id>] --from 2024-01 --to 2024-06 [--force] [--keep-going] [--stage prod | --data-dir DIR]`:
 * every month of the range of the extract (default the loan extract) through the state machine, oldest first, one at a time, each awaited.
 * The state machine decides each month (ResolveRun's ledger rules): a month that already succeeded
 * comes back `skipped` unless --force. The first failure stops the backfill unless --keep-going; a
 * summary table ends it; the exit code is 1 if any month failed, 2 for bad input, which is refused
 * before anything starts.
 *
 * Locally each month is `npm start -- --extract <id> --month M` (local/cli.ts, in its own process as one local run
 * per process needs), its output kept in `<data-dir>/logs/backfill-<extract>-<month>.log`. On AWS each month
 * is started as `npm run rerun` starts it (scripts/rerun.ts) and polled until it ends.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { InvalidInputError } from '../functions/core/errors';
import { parseMonth } from '../functions/core/month';
import { completeMonthRange } from '../functions/core/month-range';
import { formatSeconds } from '../functions/core/run-history';
import { parseChoice, parseCommandLine, parseCount, parseDataDir, parseExtract, reportFailure, shown } from '../local/cli-options';
import { SIMULATED_FAILURES, type SimulatedFailure } from '../local/pipeline/local-stack';
import { startRerun, stageSettings } from './rerun';
import { parseStageTarget } from './stage-target';
import type { RunReport } from '../local/pipeline/run-report';

export type MonthOutcome = 'succeeded' | 'skipped' | 'busy' | 'failed' | 'not-run';

export interface MonthResult {
  readonly outcome: Exclude<MonthOutcome, 'not-run'>;
  /** One line: what was published, why it was skipped, or the error and cause. */
  readonly detail: string;
  readonly execution?: string;
}

export interface MonthRun {
  readonly month: string;
  readonly outcome: MonthOutcome;
  readonly detail?: string;
  readonly execution?: string;
  readonly seconds?: number;
}

/** Runs one month through the state machine and says how it ended; throws only if it could not be run at all. */
export type MonthRunner = (month: string, force: boolean) => Promise<MonthResult>;

const FAILED: ReadonlySet<MonthOutcome> = new Set(['failed', 'busy']);

/** The months in order, one at a time; after a failure the rest are `not-run` unless keepGoing. */
export async function backfill(
  months: readonly string[],
  runner: MonthRunner,
  options: { force: boolean; keepGoing: boolean; onMonth?: (run: MonthRun) => void },
): Promise<MonthRun[]> {
  const runs: MonthRun[] = [];
  let stopped = false;
  for (const month of months) {
    let run: MonthRun;
    if (stopped) {
      run = { month, outcome: 'not-run', detail: 'not started: an earlier month failed (--keep-going runs the rest)' };
    } else {
      const started = Date.now();
      const result = await runner(month, options.force).catch((error: unknown): MonthResult => ({ outcome: 'failed', detail: `${(error as Error).name}: ${(error as Error).message}` }));
      run = { month, ...result, seconds: Math.round((Date.now() - started) / 1000) };
      if (FAILED.has(run.outcome) && !options.keepGoing) stopped = true;
    }
    runs.push(run);
    options.onMonth?.(run);
  }
  return runs;
}

export function anyFailed(runs: readonly MonthRun[]): boolean {
  return runs.some((run) => FAILED.has(run.outcome));
}

export function summaryTable(runs: readonly MonthRun[]): string {
  const lines = [['month', 'outcome', 'time', 'detail'], ...runs.map((r) => [r.month, r.outcome, r.seconds === undefined ? '' : formatSeconds(r.seconds), r.detail ?? ''])];
  const widths = [0, 1, 2].map((i) => Math.max(...lines.map((line) => line[i]!.length)));
  const count = (outcome: MonthOutcome) => runs.filter((r) => r.outcome === outcome).length;
  return [
    ...lines.map(([month, outcome, time, detail]) => `${month!.padEnd(widths[0]!)}  ${outcome!.padEnd(widths[1]!)}  ${time!.padStart(widths[2]!)}  ${detail}`.trimEnd()),
    `${runs.length} month(s): ${count('succeeded')} published, ${count('skipped')} skipped, ${count('failed') + count('busy')} failed, ${count('not-run')} not run`,
  ].join('\n');
}

interface LocalOptions {
  readonly extract: string;
  readonly dataDir: string;
  readonly loans: number | undefined;
  readonly failure: { step: SimulatedFailure; month: string | undefined } | undefined;
}

/** `npm start -- --extract <id> --month M` in its own process; its --report says how the month ended. */
function localRunner(options: LocalOptions): MonthRunner {
  return async (month, force) => {
    const logs = join(options.dataDir, 'logs');
    await mkdir(logs, { recursive: true });
    const report = join(logs, `backfill-${options.extract}-${month}.report.json`);
    const logPath = join(logs, `backfill-${options.extract}-${month}.log`);
    const fail = options.failure && (options.failure.month === undefined || options.failure.month === month);
    const args = [
      ...['--import', 'tsx', join(__dirname, '..', 'local', 'cli.ts'), '--data-dir', options.dataDir, '--extract', options.extract, '--month', month, '--report', report],
      ...(force ? ['--force'] : []),
      ...(fail ? ['--simulate-failure', options.failure!.step] : []),
      ...(options.loans === undefined ? [] : ['--loans', String(options.loans)]),
    ];
    await rm(report, { force: true });
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ code: exitCode, output: text }));
    });
    await writeFile(logPath, output);
    const parsed = await readFile(report, 'utf8').then((text) => JSON.parse(text) as RunReport, () => undefined);
    await rm(report, { force: true });
    if (!parsed) {
      const last = output.trim().split('\n').filter((line) => line.trim()).pop() ?? `exit ${code}`;
      return { outcome: 'failed', detail: `${last.replace(/^✖ /, '')} (log: ${shown(logPath)})` };
    }
    return { outcome: parsed.outcome, execution: parsed.executionName, detail: `${describeLocal(parsed)} (log: ${shown(logPath)})` };
  };
}

function describeLocal(report: RunReport): string {
  switch (report.outcome) {
    case 'succeeded':
      return `${report.files.length} files, ${report.files.reduce((sum, f) => sum + f.rows, 0)} rows`;
    case 'skipped':
      return 'already SUCCEEDED (--force re-runs it)';
    case 'busy':
      return `held by another execution (ledger ${report.ledgerStatus ?? '?'})`;
    case 'failed':
      return `${report.error ?? 'failed'}: ${firstLine(report.cause)}`;
  }
}

function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n')[0]!;
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

const POLL_MS = 15_000;

/** Starts each month as `npm run rerun` does, then polls DescribeExecution until it ends. */
function deployedRunner(stage: string, region: string | undefined, extract: string, timeZone: string): MonthRunner {
  const settings = { ...stageSettings(stage), timeZone };
  const client = new SFNClient({ region: region ?? settings.region });
  return async (month, force) => {
    const started = await startRerun(client, { stage, extract, month, force, region }, settings, new Date(), 'backfill');
    console.log(`  ${month}: started ${started.executionName}  ${started.consoleUrl}`);
    for (;;) {
      const execution = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      if (execution.status !== 'RUNNING') {
        if (execution.status !== 'SUCCEEDED') {
          return { outcome: 'failed', execution: started.executionName, detail: `${execution.status} ${execution.error ?? ''}: ${firstLine(execution.cause)}` };
        }
        const output = JSON.parse(execution.output ?? '{}') as { outcome?: string; message?: string };
        const outcome = output.outcome === 'skipped' || output.outcome === 'busy' ? output.outcome : 'succeeded';
        return { outcome, execution: started.executionName, detail: output.message ?? outcome };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    extract: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    force: { type: 'boolean' },
    'keep-going': { type: 'boolean' },
    stage: { type: 'string' },
    region: { type: 'string' },
    'data-dir': { type: 'string' },
    loans: { type: 'string' },
    'simulate-failure': { type: 'string' },
    'simulate-failure-month': { type: 'string' },
  });
  // The definition in this checkout (what is deployed): the extract's months are complete in its time zone.
  const { definition } = parseExtract(args.extract);
  const extract = definition.id;
  const timeZone = definition.schedule.timeZone;
  const target = parseStageTarget(args);
  const months = completeMonthRange(args.from, args.to, new Date(), timeZone);
  const step = parseChoice(args['simulate-failure'], 'simulate-failure', SIMULATED_FAILURES);
  const failureMonth = args['simulate-failure-month'];
  if (failureMonth !== undefined) {
    if (step === undefined) throw new InvalidInputError('simulate-failure-month', 'goes with --simulate-failure (which step fails)');
    parseMonth(failureMonth);
    if (!months.includes(failureMonth)) throw new InvalidInputError('simulate-failure-month', `${failureMonth} is not in ${months[0]}..${months[months.length - 1]}`);
  }
  let runner: MonthRunner;
  if (target.kind === 'local') {
    runner = localRunner({
      extract,
      dataDir: parseDataDir(target.dataDir),
      loans: args.loans === undefined ? undefined : parseCount(args.loans, 'loans', 0, 1),
      failure: step ? { step, month: failureMonth } : undefined,
    });
  } else {
    if (step !== undefined) throw new InvalidInputError('simulate-failure', 'is for the local pipeline only, not a deployed stage');
    if (args.loans !== undefined) throw new InvalidInputError('loans', 'sizes the local sample ODS; a deployed stage reads its ODS');
    runner = deployedRunner(target.stage, target.region, extract, timeZone);
  }

  const where = target.kind === 'local' ? `locally (${shown(parseDataDir(target.dataDir))})` : `on stage ${target.stage}`;
  console.log(`Backfill of ${extract} ${months[0]}..${months[months.length - 1]} (${months.length} months) ${where}${args.force ? ', forced' : ''}${args['keep-going'] ? ', keep going after a failure' : ''}`);
  const runs = await backfill(months, runner, {
    force: args.force ?? false,
    keepGoing: args['keep-going'] ?? false,
    onMonth: (run) => console.log(`  ${run.month}  ${run.outcome}${run.detail ? `: ${run.detail}` : ''}`),
  });
  console.log(`\n${summaryTable(runs)}`);
  if (anyFailed(runs)) process.exitCode = 1;
}

if (require.main === module) main().catch(reportFailure);
