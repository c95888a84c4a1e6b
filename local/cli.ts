/**
 * `npm start [-- --extract <id>]` / `npm run extract`: a monthly extract (default the loan extract,
 * found in extracts/ or EXTRACTS_PATH), end to end, on this machine. The production
 * state machine (statemachines/) runs in aws-local-stepfunctions over the real handlers
 * (functions/), against stand-ins for S3, DynamoDB, Glue and SNS kept under the data dir, and the
 * embedded sample ODS (or a real PostgreSQL with --source). The Glue job runs on DuckDB, or with
 * --engine spark as glue/etl.py itself on a local Spark (local/glue-spark). docs/local.md.
 */
import { open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatCalendarDate, formatMonth, type CalendarDate } from '../functions/core/month';
import { InvalidInputError } from '../functions/core/errors';
import { parseRunInput } from '../functions/core/run-input';
import type { EstimatedCost } from '../functions/core/run-cost';
import type { MonthRecord } from '../functions/core/run-ledger';
import type { ExtractFolder } from '../extracts/folders';
import {
  parseChoice,
  parseCommandLine,
  parseCount,
  parseDataDir,
  parseExtract,
  parsePostgresUrl,
  parseSampleDate,
  redactUrl,
  reportFailure,
  shown,
  stageTimeZone,
} from './cli-options';
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
import type { ReleasedHolder, RunReport } from './pipeline/run-report';
import { DEFAULT_SAMPLE_LOANS } from './sample/generate';
import { sparkSourceSettings } from './stand-ins/glue-spark-job';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    extract: { type: 'string' },
    month: { type: 'string' },
    force: { type: 'boolean' },
    source: { type: 'string' },
    'data-dir': { type: 'string' },
    loans: { type: 'string' },
    'simulate-failure': { type: 'string' },
    'sample-date': { type: 'string' },
    report: { type: 'string' },
    engine: { type: 'string' },
    'simulate-crash': { type: 'string' },
  });
  const extract = parseExtract(args.extract);
  const extractId = extract.definition.id;
  // The extract month is a calendar month in the extract's time zone.
  const timeZone = extract.definition.schedule.timeZone;
  // The execution input, as the extract's schedule ({"extract": …}) or an operator ({"extract": …, "month": …, "force": true}) sends it.
  const input: Record<string, unknown> = { extract: extractId };
  if (args.month !== undefined) input.month = args.month;
  if (args.force) input.force = true;
  const now = new Date();
  const month = formatMonth(parseRunInput(input, now, timeZone).month);
  const failure = parseChoice(args['simulate-failure'], 'simulate-failure', SIMULATED_FAILURES);
  const crashAfterWrites = args['simulate-crash'] === undefined ? undefined : parseCount(args['simulate-crash'], 'simulate-crash', 0, 1);
  const loans = parseCount(args.loans, 'loans', DEFAULT_SAMPLE_LOANS);
  const sourceUrl = parsePostgresUrl(args.source, 'source');
  const engine = parseChoice(args.engine, 'engine', GLUE_ENGINES) ?? 'duckdb';
  if (engine === 'spark') checkSparkEngine(sourceUrl);
  const dataDir = parseDataDir(args['data-dir']);
  // The sample is seeded by day (in the stage's time zone, whatever the extract); a given day reproduces another run's sample.
  const sampleDate = parseSampleDate(args['sample-date'], now, stageTimeZone());

  console.log(`Monthly extract ${extractId} for ${month}${args.month ? '' : ` (last complete month in ${timeZone})`}${args.force ? ', forced' : ''}`);
  const lock = await lockDataDir(dataDir);
  try {
    // Once the data dir exists (locking made it), so a report inside it can be checked too.
    if (args.report !== undefined) await checkWritable(args.report, 'report');
  } catch (error) {
    await lock.release();
    throw error;
  }
  const stopper = new RunStopper();
  try {
    await runMonth({ extract, input, month, failure, crashAfterWrites, loans, sourceUrl, engine, dataDir, sampleDate, reportPath: args.report, stopper });
  } finally {
    await lock.release();
    stopper.dispose();
  }
}

/**
 * Refuses, before anything starts, a --report path that cannot be written, rather than failing
 * after the month has run. The file is opened for appending (nothing is truncated) and removed again
 * if this made it.
 */
async function checkWritable(path: string, field: string): Promise<void> {
  const existed = await stat(path).then(() => true, () => false);
  try {
    await (await open(path, 'a')).close();
  } catch (error) {
    throw new InvalidInputError(field, `cannot write ${path}: ${(error as Error).message}`);
  }
  if (!existed) await rm(path, { force: true });
}

/** How long an error no one caught leaves the run to wind down before the process exits anyway. */
const UNCAUGHT_GRACE_MS = 30_000;

/**
 * Ctrl-C (SIGINT), SIGTERM (what `timeout`, `kill` and a cancelled CI job send) and an error no one
 * caught (a stand-in that threw) all stop a run the same way: the execution is stopped as the
 * console's "Stop execution" does, the step in progress finishes, the status-change path marks the
 * month FAILED and emails once, and the exit code is 1. Before the execution starts, it is not started.
 */
class RunStopper {
  /** Why the run is stopping, once something asked it to. */
  reason: string | undefined;
  /** The same, in full: the stopped execution's cause. */
  private cause: string | undefined;
  private phase: 'before' | 'running' | 'ended' = 'before';
  private abort: (() => void) | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => this.stop(signal === 'SIGINT' ? 'interrupted (SIGINT, Ctrl-C)' : `${signal} received`);
  private readonly onUncaught = (error: unknown) => this.uncaught(error);

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('uncaughtException', this.onUncaught);
    process.on('unhandledRejection', this.onUncaught);
  }

  /** The execution now running; stopped at once if a stop came before it started. */
  watch(execution: { abort(cause?: string): void }): void {
    this.phase = 'running';
    this.abort = () => execution.abort(`the local run was stopped: ${this.cause}`);
    if (this.reason !== undefined) this.abort();
  }

  ended(): void {
    this.phase = 'ended';
    this.abort = undefined;
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('uncaughtException', this.onUncaught);
    process.off('unhandledRejection', this.onUncaught);
  }

  private stop(why: string, cause = why): void {
    process.exitCode = 1;
    if (this.reason !== undefined) {
      console.log('  still stopping: waiting for the running step to end, so nothing is left half-written');
      return;
    }
    this.reason = why;
    this.cause = cause;
    if (this.phase === 'running') {
      console.log(`\n  ${why}: stopping the execution (as "Stop execution" in the console)`);
      this.abort?.();
    } else if (this.phase === 'before') {
      console.log(`\n  ${why}: the execution will not be started`);
    } else {
      console.log(`\n  ${why}: the execution has ended; stopping the stand-ins`);
    }
  }

  private uncaught(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    const where = (e.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 3);
    console.error(`\n✖ ${e.name}: ${e.message}\n  no one caught this error (a stand-in or the local runner failed)${where.map((line) => `\n    ${line.trim()}`).join('')}`);
    if (this.reason === undefined) this.stop('an error no one caught', `an error no one caught (${e.name}: ${e.message})`);
    // After an uncaught error the process may not wind down by itself.
    setTimeout(() => {
      console.error(`\n✖ the run did not stop within ${UNCAUGHT_GRACE_MS / 1000} s of that error; exiting`);
      process.exit(1);
    }, UNCAUGHT_GRACE_MS).unref();
  }
}

interface RunMonthOptions {
  readonly extract: ExtractFolder;
  readonly input: Record<string, unknown>;
  readonly month: string;
  readonly failure: SimulatedFailure | undefined;
  readonly crashAfterWrites: number | undefined;
  readonly loans: number;
  readonly sourceUrl: string | undefined;
  readonly engine: GlueEngine;
  readonly dataDir: string;
  readonly sampleDate: CalendarDate;
  readonly reportPath: string | undefined;
  readonly stopper: RunStopper;
}

async function runMonth(options: RunMonthOptions): Promise<void> {
  const { extract, input, month, failure, crashAfterWrites, loans, sourceUrl, engine, dataDir, sampleDate, reportPath, stopper } = options;
  const started = Date.now();
  let ods: Awaited<ReturnType<typeof startSampleOds>> | undefined;
  // In the --report, so the same sample can be loaded elsewhere (npm run seed, or a test).
  const source: RunReport['source'] = sourceUrl ? { kind: 'postgres', url: redactUrl(sourceUrl) } : { kind: 'sample', loans, today: formatCalendarDate(sampleDate) };
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
        : "  engine: duckdb (the extract's SQL on DuckDB; --engine spark runs glue/etl.py)",
    );
    console.log(`  extract: ${extract.definition.id} (${shown(extract.dir)}): ${extract.definition.description}`);
    const stack = await startLocalStack({ dataDir, sourceUrl: sourceUrl ?? ods!.url, extract, engine });
    try {
      if (stack.ledgerMigration) console.log(`  ${stack.ledgerMigration}`);
      const released = stopper.reason === undefined ? await releaseDeadHolder(stack, month) : undefined;
      if (stopper.reason !== undefined) {
        console.log(`\n✖ Stopped (${stopper.reason}) before the execution started: nothing ran`);
        process.exitCode = 1;
        await stack.stop();
        return;
      }
      stack.simulateFailure(failure);
      if (failure) console.log(`  simulating a failure of: ${failure}`);
      stack.simulateCrash(crashAfterWrites);
      if (crashAfterWrites) console.log(`  simulating a crash: this process is killed (SIGKILL) once ${crashAfterWrites} object(s) under extracts/ are written`);
      const outboxBefore = await listFolder(stack.outboxDir);
      const progress = new ExecutionProgress((line) => console.log(line));
      const execution = stack.startExecution(input, (event) => progress.onEvent(event));
      console.log(`  execution ${execution.name}`);
      stopper.watch(execution);
      const result = await execution.result;
      stopper.ended();
      await stack.syncPublishedFiles();
      const emails = await newFiles(stack.outboxDir, outboxBefore);
      const ranMonth = (result.output as { month?: unknown } | undefined)?.month;
      const report = await summarize(stack, typeof ranMonth === 'string' ? ranMonth : month, result, progress.timings, emails, Date.now() - started);
      const written: RunReport = { ...report, released, source, engine };
      if (reportPath) await writeFile(reportPath, `${JSON.stringify(written, null, 2)}\n`);
      // A published file that is not what its manifest says is a failure, whatever the execution said.
      if (report.outcome === 'failed' || report.outcome === 'busy' || report.mismatchedFiles.length > 0) process.exitCode = 1;
      await stack.stop();
    } catch (error) {
      await stack.stop().catch(() => undefined);
      throw error;
    }
  } finally {
    await ods?.stop();
  }
}

/**
 * A month the ledger shows RUNNING belongs to an execution whose process is gone: this run holds the
 * data dir's lock, so no other local run is alive (it was killed, or the machine stopped). It is
 * released as AWS releases a stopped execution: NotifyFailure gets its ABORTED status change, which
 * settles its publish, marks the month FAILED and emails once; then this run proceeds.
 */
async function releaseDeadHolder(stack: LocalStack, month: string): Promise<ReleasedHolder | undefined> {
  const extractId = stack.extract.definition.id;
  const record: MonthRecord | undefined = await stack.ledger.get(extractId, month);
  if (record?.status !== 'RUNNING') return undefined;
  const outboxBefore = await listFolder(stack.outboxDir);
  const cause =
    `the local run that held ${extractId} ${month} (execution ${record.runId}, started ${record.startedAt}) died: its process is gone ` +
    '(killed, or the machine stopped); it was stopped when the next local run on this data dir started';
  const release = await stack.releaseDeadExecution(record, cause);
  const emails = (await newFiles(stack.outboxDir, outboxBefore)).map((name) => join(stack.outboxDir, name));
  const after = await stack.ledger.get(extractId, month);
  console.log(`  released ${extractId} ${month} from execution ${record.runId} (RUNNING since ${record.startedAt}): its process is gone; ledger now ${after?.status ?? 'without a record'}`);
  if (release.publishing) console.log(`  ${release.publishing}`);
  for (const email of emails) console.log(`  email to data-support: ${shown(email)}`);
  if (release.error) console.log(`  ✖ the release did not go through: ${release.error}`);
  return { executionArn: record.executionArn, emails, ...(release.error === undefined ? {} : { error: release.error }) };
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

/** Prints what happened and returns it as the --report JSON. */
async function summarize(
  stack: LocalStack,
  month: string,
  result: ExecutionResult,
  states: readonly StateTiming[],
  emails: readonly string[],
  totalMs: number,
): Promise<Omit<RunReport, 'released' | 'source' | 'engine'>> {
  const output = (result.output ?? {}) as { outcome?: string; message?: string };
  const outcome: RunReport['outcome'] = result.status !== 'SUCCEEDED' ? 'failed' : output.outcome === 'skipped' ? 'skipped' : output.outcome === 'busy' ? 'busy' : 'succeeded';
  const extractId = stack.extract.definition.id;
  const published = await readPublishedMonth(stack.publishedRoot, month, stack.extract.definition);
  const record = await stack.ledger.get(extractId, month);

  console.log('');
  if (outcome === 'failed') {
    console.log(`✖ ${result.error ?? result.status}: ${result.cause ?? `the execution ended ${result.status}`}`);
  } else {
    console.log(`${outcome === 'succeeded' ? '✔' : '●'} ${output.message ?? `${extractId} ${month} ${outcome}`}`);
  }
  if (published) printPublished(published, published.runId === result.name ? 'published' : 'still published, unchanged,');
  else console.log(`  no files published for ${extractId} ${month}`);
  const mismatchedFiles = (published?.files ?? []).filter((f) => !f.matchesManifest).map((f) => f.key);
  if (mismatchedFiles.length > 0) console.log(`  ✖ ${mismatchedFiles.length} published file(s) do not match the month's manifest (marked above)`);
  console.log(`  ledger: ${record ? `${record.status} (attempt ${record.attempt}, execution ${record.executionArn.split(':').pop()})` : `no record of ${extractId} ${month}`}`);
  if (outcome === 'failed' && record?.status === 'RUNNING' && record.executionArn === result.executionArn) {
    console.log('  the ledger could not be written, so this execution still holds the month; the next run on this data dir releases it');
  }
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
    extract: extractId,
    month,
    manifestKey: published?.manifestKey,
    executionName: result.name,
    status: result.status,
    error: result.error,
    cause: result.cause,
    totalMs,
    states,
    files: (published?.files ?? []).map((f) => ({ key: f.key, path: f.path, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
    estimatedCost: published?.runId === result.name ? published.estimatedCost : undefined,
    mismatchedFiles,
    ledgerStatus: record?.status,
    emails: emails.map((email) => join(stack.outboxDir, email)),
  };
}

function printPublished(published: PublishedMonth, label: string): void {
  console.log(`  ${label} by run ${published.runId}: ${published.manifestKey}   (${shown(published.manifestPath)})`);
  const read = Object.entries(published.sourceRowsRead).map(([table, rows]) => `${table} ${rows}`);
  console.log(`  rows read from the ODS: ${read.join(', ')}`);
  for (const file of published.files) {
    const check = file.matchesManifest ? '' : '  ✖ DOES NOT MATCH THE MANIFEST';
    console.log(`  ${file.key}   (${shown(file.path)})\n      ${file.rows} rows, ${file.bytes} bytes, sha256 ${file.sha256}${check}`);
  }  if (published.estimatedCost) console.log(`  ${describeCost(published.estimatedCost)}`);
}

/** One line of the manifest's estimated cost and what it is made of. */
function describeCost(cost: EstimatedCost): string {
  const glue = cost.glue.dpuSeconds === null ? 'Glue: no DPU-seconds reported' : `Glue ${cost.glue.dpuSeconds} DPU-s × ${cost.glue.pricePerDpuHour}/DPU-h = ${cost.glue.cost}`;
  const sfn = `Step Functions ${cost.stepFunctions.stateTransitions} transitions = ${cost.stepFunctions.cost}`;
  const lambda = `Lambda ${cost.lambda.requests} requests + ${cost.lambda.publishDurationMs} ms × ${cost.lambda.publishMemoryMb} MB = ${cost.lambda.cost}`;
  return `estimated cost: USD ${cost.total} (${glue}; ${sfn}; ${lambda})`;
}

async function listFolder(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [] as string[])).sort();
}

/** The names in `folder` that were not in `before`. */
async function newFiles(folder: string, before: readonly string[]): Promise<string[]> {
  return (await listFolder(folder)).filter((name) => !before.includes(name));
}

main().catch(reportFailure);
