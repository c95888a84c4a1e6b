/**
 * The five ways of producing one month's extract that the benchmark puts side by side, each run as a
 * child process against the same source database:
 *
 *   pipeline  the local pipeline end to end: `tsx local/cli.ts --source … --report FILE`
 *   engine    the local engine step alone: runExtractJob with a FolderStagingSink (bench/engine-child.ts)
 *   floor     the numbers computed inside PostgreSQL by the loan extract's sql/branch_loans_3m.sql, written out by
 *             COPY … TO STDOUT through psql: no engine can read and compute less
 *   naive     the whole loans table read into the engine, then the same SQL (bench/naive-extract.ts)
 *   spark     the production job, glue/etl.py, on the local Spark (local[2]) of scripts/setup-spark.sh
 *             (bench/spark.ts): one JVM per bank size, started before the runs and not counted
 *
 * Every run also records what PostgreSQL itself read for it (pg_stat_user_tables), and the output's
 * per-bank SHA-256, so that a faster side that computes different numbers cannot go unnoticed. A
 * Spark run must also stage, bank by bank, the very bytes the DuckDB engine stages for the same
 * month, or it is not counted: the bench never reports a fast wrong answer.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import { parseCsvText } from '../functions/core/csv-reader';
import { csvLine, extractHeader } from '../functions/core/extract-csv';
import { DEFAULT_EXTRACT_ID, findExtract } from '../extracts/folders';
import { monthWindow, parseMonth } from '../functions/core/month';
import { extractWindowSql } from '../local/engine/extract-sql';
import { runChild, summarizeProbes, tail, type ChildResult } from './child';
import type { EngineChildInput, EngineChildOutput } from './engine-child';
import type { BenchSpark } from './spark';
import type { RunReport } from '../local/pipeline/run-report';

export const SIDES = ['pipeline', 'engine', 'floor', 'naive', 'spark'] as const;
export type Side = (typeof SIDES)[number];

export interface SideContext {
  readonly repoRoot: string;
  /** Scratch folder for this run's outputs. */
  readonly workDir: string;
  readonly sourceUrl: string;
  readonly databaseName: string;
  readonly pgPort: number;
  readonly month: string;
  /** A connection to the source database, for its statistics. */
  readonly stats: Client;
  readonly timeoutMs: number;
  /** Write V8 CPU profiles of the engine and naive children here. */
  readonly cpuProfileDir?: string;
  /** The local Spark for the spark side, or why there is none. */
  readonly spark?: BenchSpark | { readonly error: string };
  /** The DuckDB engine's staged rows parts for this source and month, the spark side's reference (see engineReference). */
  readonly engineParts?: StagedParts;
}

/** The staged rows parts: bank folder ("bank_id=1") → its part files' bytes, in file name order. */
export type StagedParts = ReadonlyMap<string, readonly Buffer[]>;

export interface RunMeasure {
  /** The side's own time: in-process for engine and naive, the report's totalMs for the pipeline, psql's wall time for the floor. */
  readonly ms: number;
  /** Wall time of the child process, including Node or psql start-up. */
  readonly wallMs: number;
  readonly peakRssBytes?: number;
  /** Bytes received from PostgreSQL (socket level). */
  readonly pgBytesRead?: number;
  /** Rows the side read from the source, per table (its own count). */
  readonly sourceRows?: Readonly<Record<string, number>>;
  /** Rows PostgreSQL read from each table for this run (seq_tup_read + idx_tup_fetch). */
  readonly rowsExamined: Readonly<Record<string, number>>;
  /** Index scans started on the loans table for this run. */
  readonly loansIndexScans: number;
  /** Engine phases (ms), pipeline states (ms) or Spark job phases (ms). */
  readonly breakdown?: Readonly<Record<string, number>>;
  /** Spark: the largest sum of its process tree's VmRSS sampled during the run (peakRssBytes is the sum of their VmHWM). */
  readonly peakRssSampledBytes?: number;
  /** Spark: peak RSS (VmHWM) per process of its tree, by command name. */
  readonly peakRssByProcess?: Readonly<Record<string, number>>;
  /** Spark: whether every bank's staged part is byte-identical to the DuckDB engine's (a run that is not is not counted). */
  readonly sameStagedPartsAsEngine?: boolean;
  /** SHA-256 of each bank's CSV (header + rows), sorted. */
  readonly outputSha256: readonly string[];
  readonly outputBytes: number;
  /** 1-minute load average when the run ended. */
  readonly loadAvg1: number;
}

export type SideOutcome = { readonly ok: true; readonly run: RunMeasure } | { readonly ok: false; readonly error: string };

export async function runSide(side: Side, ctx: SideContext): Promise<SideOutcome> {
  const outDir = await mkdtemp(join(ctx.workDir, `${side}-`));
  try {
    const before = await tableStats(ctx.stats, ctx.databaseName);
    const measured = await RUNNERS[side](ctx, outDir);
    if ('error' in measured) return { ok: false, error: measured.error };
    const after = await tableStats(ctx.stats, ctx.databaseName);
    const rowsExamined: Record<string, number> = {};
    for (const [table, now] of Object.entries(after)) {
      const was = before[table] ?? { rows: 0, indexScans: 0 };
      if (now.rows - was.rows > 0) rowsExamined[table] = now.rows - was.rows;
    }
    const loansIndexScans = (after.loans?.indexScans ?? 0) - (before.loans?.indexScans ?? 0);
    return { ok: true, run: { ...measured, rowsExamined, loansIndexScans, loadAvg1: loadavg()[0]! } };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

type Measured = Omit<RunMeasure, 'rowsExamined' | 'loansIndexScans' | 'loadAvg1'> | { error: string };
type Runner = (ctx: SideContext, outDir: string) => Promise<Measured>;

/** The loan extract, which the benchmark measures. */
const LOAN = findExtract(DEFAULT_EXTRACT_ID);

const RUNNERS: Record<Side, Runner> = {
  pipeline: runPipeline,
  engine: (ctx, outDir) => runEngineChild('engine', ctx, outDir),
  floor: runFloor,
  naive: (ctx, outDir) => runEngineChild('naive', ctx, outDir),
  spark: runSpark,
};

async function runPipeline(ctx: SideContext, outDir: string): Promise<Measured> {
  const reportFile = join(outDir, 'report.json');
  const dataDir = join(outDir, 'data');
  const child = await runChild(
    join(ctx.repoRoot, 'node_modules', '.bin', 'tsx'),
    ['local/cli.ts', '--source', ctx.sourceUrl, '--month', ctx.month, '--data-dir', dataDir, '--report', reportFile],
    { cwd: ctx.repoRoot, timeoutMs: ctx.timeoutMs, pgPort: ctx.pgPort },
  );
  const failure = childFailure(child);
  if (failure) return { error: `local/cli.ts ${failure}` };
  let report: RunReport;
  try {
    report = JSON.parse(await readFile(reportFile, 'utf8')) as RunReport;
  } catch (error) {
    return { error: `local/cli.ts exited 0 but its --report file is unreadable: ${(error as Error).message}` };
  }
  if (report.outcome !== 'succeeded') return { error: `local/cli.ts reported outcome "${report.outcome}": ${tail(child.stderr || child.stdout)}` };
  const breakdown: Record<string, number> = {};
  for (const state of report.states) breakdown[state.name] = (breakdown[state.name] ?? 0) + state.ms;
  return {
    ms: report.totalMs,
    wallMs: child.wallMs,
    ...summarizeProbes(child.probes),
    breakdown,
    outputSha256: report.files.map((f) => f.sha256).sort(),
    outputBytes: report.files.reduce((sum, f) => sum + f.bytes, 0),
  };
}

async function runEngineChild(mode: EngineChildInput['mode'], ctx: SideContext, outDir: string): Promise<Measured> {
  const input: EngineChildInput = { mode, sourceUrl: ctx.sourceUrl, month: ctx.month, outDir: join(outDir, 'staging') };
  const profile = ctx.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfileDir}`, `--cpu-prof-name=${mode}-${Date.now()}.cpuprofile`] : [];
  const child = await runChild(process.execPath, [...profile, '--import', 'tsx', join('bench', 'engine-child.ts'), JSON.stringify(input)], {
    cwd: ctx.repoRoot,
    timeoutMs: ctx.timeoutMs,
    pgPort: ctx.pgPort,
  });
  const failure = childFailure(child);
  if (failure) return { error: `${mode} ${failure}` };
  let output: EngineChildOutput;
  try {
    output = JSON.parse(child.stdout.trim().split('\n').pop()!) as EngineChildOutput;
  } catch {
    return { error: `${mode} printed no result: ${tail(child.stderr || child.stdout)}` };
  }
  const csvs = [...(await stagedParts(input.outDir)).values()].flat();
  const breakdown: Record<string, number> = {};
  for (const phase of output.phases) breakdown[phase.name] = (breakdown[phase.name] ?? 0) + phase.ms;
  return {
    ms: output.ms,
    wallMs: child.wallMs,
    ...summarizeProbes(child.probes),
    sourceRows: Object.fromEntries(output.sourceRows.map((r) => [r.table, r.row_count])),
    breakdown,
    outputSha256: csvs.map(sha256).sort(),
    outputBytes: csvs.reduce((sum, c) => sum + c.length, 0),
  };
}

async function runFloor(ctx: SideContext, outDir: string): Promise<Measured> {
  const window = monthWindow(parseMonth(ctx.month));
  const outFile = join(outDir, 'floor.csv');
  const child = await runChild(
    'psql',
    [
      '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', ctx.sourceUrl,
      '-c', 'BEGIN',
      // JIT compiles this query for about 1.5 s at 10M loans, longer than it then saves; off, the
      // floor is the fastest PostgreSQL computes it (the engine's reads never reach the JIT threshold).
      '-c', 'SET LOCAL jit = off',
      '-c', `CREATE TEMP TABLE extract_window AS ${extractWindowSql(window)}`,
      '-c', `COPY (${LOAN.sql.rows}) TO STDOUT (FORMAT csv, HEADER)`,
      '-c', 'COMMIT',
    ],
    { cwd: ctx.repoRoot, timeoutMs: ctx.timeoutMs, stdoutFile: outFile },
  );
  const failure = childFailure(child);
  if (failure) return { error: `psql ${failure}` };
  const csvs = splitByBank(await readFile(outFile, 'utf8'));
  return {
    ms: child.wallMs,
    wallMs: child.wallMs,
    outputSha256: csvs.map(sha256).sort(),
    outputBytes: (await stat(outFile)).size,
  };
}

function childFailure(child: ChildResult): string | undefined {
  if (child.timedOut) return `did not finish within its time limit (killed)`;
  if (child.exitCode !== 0) return `exited with ${child.exitCode ?? child.signal}: ${tail(child.stderr || child.stdout)}`;
  return undefined;
}

/** The staged rows parts (rows/bank_id=N/*.csv) by bank folder; Hadoop's .crc and _SUCCESS files are not parts. */
async function stagedParts(stagingDir: string): Promise<Map<string, Buffer[]>> {
  const rowsDir = join(stagingDir, 'rows');
  const out = new Map<string, Buffer[]>();
  for (const entry of (await readdir(rowsDir, { withFileTypes: true }).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory()) continue;
    const parts: Buffer[] = [];
    for (const part of (await readdir(join(rowsDir, entry.name))).filter((f) => f.endsWith('.csv')).sort()) {
      parts.push(await readFile(join(rowsDir, entry.name, part)));
    }
    out.set(entry.name, parts);
  }
  return out;
}

/**
 * The spark side's reference: the DuckDB engine's staged parts for this source and month, from one
 * uncounted engine run made before the measured runs (so it never touches their statistics).
 */
export async function engineReference(ctx: SideContext): Promise<StagedParts | { error: string }> {
  const outDir = await mkdtemp(join(ctx.workDir, 'reference-'));
  try {
    const input: EngineChildInput = { mode: 'engine', sourceUrl: ctx.sourceUrl, month: ctx.month, outDir: join(outDir, 'staging') };
    const child = await runChild(process.execPath, ['--import', 'tsx', join('bench', 'engine-child.ts'), JSON.stringify(input)], {
      cwd: ctx.repoRoot,
      timeoutMs: ctx.timeoutMs,
      probe: false,
    });
    const failure = childFailure(child);
    if (failure) return { error: `the engine's reference run ${failure}` };
    return await stagedParts(input.outDir);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/**
 * Where Spark's staged parts differ from the engine's, or undefined when every bank folder holds one
 * part with the engine's bytes. Spark writes one part per bank (etl.py repartitions by bank_id), as
 * the engine does; any other count is a difference too.
 */
export function stagedPartsDifference(engine: StagedParts, spark: StagedParts): string | undefined {
  const engineBanks = [...engine.keys()].join(', ');
  const sparkBanks = [...spark.keys()].join(', ');
  if (engineBanks !== sparkBanks) return `Spark staged the bank folders [${sparkBanks}], the engine [${engineBanks}]`;
  for (const [bank, engineParts] of engine) {
    const sparkParts = spark.get(bank)!;
    if (sparkParts.length !== 1 || engineParts.length !== 1) return `rows/${bank}: Spark staged ${sparkParts.length} parts, the engine ${engineParts.length}`;
    const [a, b] = [engineParts[0]!, sparkParts[0]!];
    if (!a.equals(b)) {
      let at = 0;
      while (at < a.length && at < b.length && a[at] === b[at]) at++;
      const line = a.subarray(0, at).toString('utf8').split('\n').length;
      return `rows/${bank}: Spark's part (${b.length} bytes) differs from the engine's (${a.length} bytes) from line ${line}`;
    }
  }
  return undefined;
}

async function runSpark(ctx: SideContext, outDir: string): Promise<Measured> {
  if (!ctx.spark) return { error: 'no local Spark was started for this run' };
  if ('error' in ctx.spark) return { error: ctx.spark.error };
  if (!ctx.engineParts) return { error: "no reference from the DuckDB engine to check Spark's staged parts against" };
  const stagingDir = join(outDir, 'staging');
  const spark = ctx.spark;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ctx.timeoutMs)));
  const run = await Promise.race([spark.run(ctx.sourceUrl, ctx.month, stagingDir, `bench-${Date.now()}`), timedOut]).finally(() => clearTimeout(timer));
  if (run === 'timeout') {
    // A job that hangs holds the one JVM: stop it, so the runs after this one fail fast.
    await spark.close();
    return { error: 'glue/etl.py did not finish within its time limit (the local Spark was stopped)' };
  }
  if (!run.ok) return { error: `glue/etl.py failed on the local Spark: ${run.error ?? 'no error message'}` };
  const parts = await stagedParts(stagingDir);
  const difference = stagedPartsDifference(ctx.engineParts, parts);
  // Not a measurement: a run that stages other bytes than the engine is wrong, however fast.
  if (difference) return { error: `wrong output, not counted: ${difference}` };
  let sourceRows: Record<string, number>;
  try {
    sourceRows = await stagedSourceRows(stagingDir);
  } catch (error) {
    return { error: `Spark staged no readable source_rows: ${(error as Error).message}` };
  }
  const csvs = [...parts.values()].flat();
  return {
    ms: run.ms,
    wallMs: run.ms,
    peakRssBytes: run.peakRssBytes,
    peakRssSampledBytes: run.peakRssSampledBytes,
    peakRssByProcess: run.peakRssByProcess,
    sourceRows,
    breakdown: run.phases,
    outputSha256: csvs.map(sha256).sort(),
    outputBytes: csvs.reduce((sum, c) => sum + c.length, 0),
    sameStagedPartsAsEngine: true,
  };
}

/** The job's source_rows/*.json (JSON lines {"table", "row_count"}) as table → rows read. */
async function stagedSourceRows(stagingDir: string): Promise<Record<string, number>> {
  const dir = join(stagingDir, 'source_rows');
  const out: Record<string, number> = {};
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as { table: string; row_count: number };
      out[row.table] = (out[row.table] ?? 0) + Number(row.row_count);
    }
  }
  if (Object.keys(out).length === 0) throw new Error(`no rows in ${dir}`);
  return out;
}

/** The floor's one CSV (bank_id first) as the per-bank files the engine stages: header, rows without bank_id. */
export function splitByBank(csv: string): Buffer[] {
  // COPY's NULL (an unquoted empty field) and "" both come back as '': the contract writes both as an empty field.
  const [, ...records] = parseCsvText(csv);
  const byBank = new Map<string, string>();
  for (const [bankId, ...values] of records) {
    byBank.set(bankId!, (byBank.get(bankId!) ?? extractHeader(LOAN.definition)) + csvLine(values));
  }
  return [...byBank.values()].map((text) => Buffer.from(text, 'utf8'));
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface TableStat {
  readonly rows: number;
  readonly indexScans: number;
}

/**
 * PostgreSQL's per-table read counters for the source database, once every other client has left it:
 * a backend flushes its counters when it exits, before it leaves pg_stat_activity.
 */
async function tableStats(stats: Client, databaseName: string): Promise<Record<string, TableStat>> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    const { rows } = await stats.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
      [databaseName],
    );
    if (Number(rows[0]!.n) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stats.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await stats.query<{ relname: string; rows: string; idx_scan: string }>(
    `SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS rows, coalesce(idx_scan, 0) AS idx_scan
       FROM pg_stat_user_tables WHERE schemaname = 'public'`,
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { rows: Number(r.rows), indexScans: Number(r.idx_scan) }]));
}
