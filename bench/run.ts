/**
 * `npm run bench`: the monthly extract at scale, side by side with the PostgreSQL floor and the naive
 * whole-table read. See bench/README.md for what is measured and how to read the results.
 *
 *   npm run bench                       the full matrix: 1M and 10M loans × 36 and 72 months
 *   npm run bench -- --quick            1M loans, 36 months, one run of each side (for development)
 *   npm run bench -- --sizes 1M --months 36,72 --runs 3 --sides engine,floor --label try
 *   npm run bench -- --source postgres://user@host/postgres   (else TEST_POSTGRES_URL, else Debian's)
 *   npm run bench -- --compare bench/results/<earlier>.json     (adds a before → after table)
 *   npm run bench -- --sides spark,engine,floor --spark-driver-memory 6g   (glue/etl.py on the local Spark)
 *
 * Results: bench/results/<date>[-label].json; a full run also rewrites the table in bench/README.md.
 * Nothing here is a test: no duration fails anything.
 */
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { formatMonth, lastCompleteMonth, monthWindow } from '../functions/core/month';
import { DEFAULT_EXTRACT_ID, findExtract } from '../extracts/folders';
import { sourceModelOf } from '../local/engine/source-model';
import { readTransactionSettings, windowReadSql } from '../local/engine/source-reader';
import { measureBundles, type BundlesOutcome } from './bundles';
import { measuredSpark, renderReadmeResults, renderSparkResults, replaceResultsSection, replaceSparkSection } from './report';
import { benchServer, serverSettings, type ServerSettings } from './server';
import { SIDES, engineReference, runSide, type RunMeasure, type Side, type SideContext } from './sides';
import { ensureSource, sizeLabel, type GeneratedSource } from './source';
import { SPARK_MASTER, SPARK_READ_PARTITIONS, startBenchSpark, type BenchSpark, type SparkJvm } from './spark';
import { parseSize } from './stats';
import { compareWithFloor, datasetRatios, evaluateTargets, historyRatios, summarizeSide, type DatasetResult, type SideSummary } from './summary';

const REPO_ROOT = resolve(__dirname, '..');
const TIME_ZONE = 'Africa/Johannesburg';
/** --cpu-prof writes the engine and naive children's V8 profiles here (open them in Chrome DevTools). */
const PROFILE_DIR = join(tmpdir(), 'loan-extract-bench-profiles');
/** The local Spark's log (Spark's and glue/etl.py's), kept after the run. */
const SPARK_LOG = join(tmpdir(), 'loan-extract-bench-spark.log');

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  /** false while the run is still going, or if it was cut short. */
  readonly complete: boolean;
  readonly command: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly postgres: ServerSettings & { readonly startedByBench: boolean };
  readonly datasets: readonly DatasetResult[];
  readonly ratios: ReturnType<typeof datasetRatios>[];
  readonly historyRatios: ReturnType<typeof historyRatios>;
  readonly bundles?: BundlesOutcome;
  /** How the spark side ran, when it was among the sides. */
  readonly spark?: SparkSetup;
  readonly targets: ReturnType<typeof evaluateTargets>;
}

export interface SparkSetup {
  readonly master: string;
  readonly driverMemory: string;
  readonly readPartitions: string;
  /** Spark settings: the deployed job's (resources/glue.yml sets none). */
  readonly sparkConf: string;
  /** Each Spark started (one per bank size), with its start time, not counted in the runs. */
  readonly jvms: readonly SparkJvm[];
  /** Why the local Spark could not start, if it could not. */
  readonly error?: string;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly duckdb: string;
  readonly loadAvgAtStart: readonly number[];
  readonly loadAvgAtEnd?: readonly number[];
  /** Other work on the machine while measuring (for the record). */
  readonly note: string;
}

interface Options {
  readonly quick: boolean;
  readonly sizes: readonly number[];
  readonly months: readonly number[];
  readonly runs?: number;
  readonly sides: readonly Side[];
  readonly source?: string;
  readonly label?: string;
  readonly bundles: boolean;
  readonly readme: boolean;
  /** Rewrite the Spark section of bench/README.md (alone, with --readme-spark). */
  readonly readmeSpark: boolean;
  readonly cpuProfile: boolean;
  readonly warmup: boolean;
  /** An earlier results file to show a before → after table against. */
  readonly compare?: string;
  /** spark.driver.memory of the local Spark (the spark side). */
  readonly sparkDriverMemory: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      months: { type: 'string' },
      runs: { type: 'string' },
      sides: { type: 'string' },
      source: { type: 'string' },
      label: { type: 'string' },
      'no-bundles': { type: 'boolean', default: false },
      readme: { type: 'boolean' },
      'readme-spark': { type: 'boolean' },
      'cpu-prof': { type: 'boolean', default: false },
      'no-warmup': { type: 'boolean', default: false },
      compare: { type: 'string' },
      'spark-driver-memory': { type: 'string', default: '6g' },
    },
  });
  const list = (text: string | undefined, fallback: string) => (text ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  const quick = values.quick!;
  const sides = list(values.sides, SIDES.join(',')) as Side[];
  for (const side of sides) if (!SIDES.includes(side)) throw new Error(`--sides: unknown side "${side}" (${SIDES.join(', ')})`);
  const months = list(values.months, quick ? '36' : '36,72').map(Number);
  for (const m of months) if (!Number.isInteger(m) || m < 3) throw new Error(`--months: ${m} is not a whole number of months >= 3`);
  const runs = values.runs === undefined ? (quick ? 1 : undefined) : Number(values.runs);
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) throw new Error(`--runs must be a whole number >= 1`);
  const label = values.label ?? (quick ? 'quick' : undefined);
  if (label !== undefined && !/^[a-z0-9-]+$/.test(label)) throw new Error('--label: lower-case letters, digits and dashes only');
  const source = values.source ?? (process.env.TEST_POSTGRES_URL || undefined);
  const sparkDriverMemory = values['spark-driver-memory']!;
  if (!/^\d+[mg]$/.test(sparkDriverMemory)) throw new Error('--spark-driver-memory: a JVM size such as 6g or 4096m');
  return {
    quick,
    sizes: list(values.sizes, quick ? '1M' : '1M,10M').map(parseSize),
    months,
    ...(runs !== undefined ? { runs } : {}),
    sides,
    ...(source ? { source } : {}),
    ...(label ? { label } : {}),
    bundles: !values['no-bundles'],
    readme: values.readme ?? (!quick && label === undefined),
    readmeSpark: values['readme-spark'] ?? values.readme ?? (!quick && label === undefined),
    cpuProfile: values['cpu-prof']!,
    warmup: !values['no-warmup'],
    ...(values.compare ? { compare: resolve(values.compare) } : {}),
    sparkDriverMemory,
  };
}

/** Median of 5 runs: at 10M, 3 left the 72/36 ratio within the noise of a shared 2-core machine. */
function runsFor(_size: number, options: Options): number {
  return options.runs ?? 5;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const log = (line: string) => console.log(line);
  const workDir = await mkdtemp(join(tmpdir(), 'loan-extract-bench-'));
  const machine: MachineInfo = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    duckdb: await duckdbVersion(),
    loadAvgAtStart: loadavg(),
    note: process.env.BENCH_NOTE ?? '',
  };
  if (options.cpuProfile) log(`CPU profiles of the engine and naive runs: ${PROFILE_DIR}`);
  log(`Benchmark: ${machine.cpus} cores (${machine.cpuModel}), ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB, load ${machine.loadAvgAtStart.map((l) => l.toFixed(2)).join(' ')}`);

  const server = benchServer(REPO_ROOT, options.source);
  log(`PostgreSQL: ${server.started ? `started (${server.adminUrl})` : `given (${redact(server.adminUrl)})`}`);
  try {
    const postgres = { ...(await serverSettings(server.adminUrl)), startedByBench: server.started };
    const lastMonth = lastCompleteMonth(startedAt, TIME_ZONE);
    const file = join(REPO_ROOT, 'bench', 'results', `${startedAt.toISOString().slice(0, 10)}${options.label ? `-${options.label}` : ''}.json`);
    await mkdir(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    const datasets: DatasetResult[] = [];
    let bundles: BundlesOutcome | undefined;
    const sparkJvms: SparkJvm[] = [];
    const sparkErrors: string[] = [];
    const withSpark = options.sides.includes('spark');
    if (withSpark) await truncate(SPARK_LOG).catch(() => undefined);
    const benchDir = join(REPO_ROOT, 'bench');
    // Read first: the targets compare with it, and a bad path fails before the long runs.
    const before = options.compare
      ? { file: relative(benchDir, options.compare), results: JSON.parse(await readFile(options.compare, 'utf8')) as BenchResults }
      : undefined;
    const save = async (complete: boolean): Promise<BenchResults> => {
      const results: BenchResults = {
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        complete,
        command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
        quick: options.quick,
        machine: { ...machine, loadAvgAtEnd: loadavg() },
        postgres,
        datasets,
        ratios: datasets.map(datasetRatios),
        historyRatios: historyRatios(datasets),
        ...(bundles ? { bundles } : {}),
        ...(withSpark
          ? {
              spark: {
                master: SPARK_MASTER,
                driverMemory: options.sparkDriverMemory,
                readPartitions: SPARK_READ_PARTITIONS,
                sparkConf: 'the deployed job’s (Spark 3.5.6 defaults: adaptive execution on, 200 shuffle partitions)',
                jvms: sparkJvms,
                ...(sparkErrors.length > 0 ? { error: sparkErrors[0] } : {}),
              },
            }
          : {}),
        targets: evaluateTargets(datasets, bundles, before?.results.datasets),
      };
      await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
      return results;
    };

    if (options.bundles) {
      log('\nLambda bundles (osls package --stage prod):');
      bundles = await measureBundles(REPO_ROOT, workDir, 5, log).catch((error: unknown) => ({ ok: false as const, error: (error as Error).message }));
      if (!bundles.ok) log(`  unavailable: ${bundles.error}`);
    }
    for (const size of options.sizes) {
      const sources: GeneratedSource[] = [];
      for (const months of options.months) {
        log(`\nSource ${sizeLabel(size)}/${months}:`);
        sources.push(await ensureSource(server.adminUrl, { loansPer36Months: size, months, lastMonth }, log));
      }
      log(`\nMeasuring ${sources.map((s) => `${sizeLabel(size)}/${s.spec.months}`).join(' and ')}:`);
      // One local Spark per bank size, started before its runs: its start is not in any run's time.
      let spark: BenchSpark | { error: string } | undefined;
      if (withSpark) {
        try {
          spark = await startBenchSpark({ served: sizeLabel(size), driverMemory: options.sparkDriverMemory, logFile: SPARK_LOG });
          sparkJvms.push(spark.jvm);
          log(`  local Spark ${spark.jvm.sparkVersion} (${SPARK_MASTER}, driver memory ${spark.jvm.driverMemory}) started in ${seconds(spark.jvm.startMs)}, ${(spark.jvm.idleRssBytes / 1024 ** 2).toFixed(0)} MiB resident; log: ${SPARK_LOG}`);
        } catch (error) {
          spark = { error: (error as Error).message };
          sparkErrors.push(spark.error);
          log(`  local Spark unavailable: ${spark.error}`);
        }
      }
      try {
        datasets.push(...(await measureGroup(sources, server.port, runsFor(size, options), options, workDir, log, spark)));
      } finally {
        if (spark && 'close' in spark) await spark.close();
      }
      await save(false); // a run cut short keeps what it measured
    }
    const results = await save(true);
    log(`\nResults: ${relative(REPO_ROOT, file)}`);
    const markdown = renderReadmeResults(results, relative(benchDir, file), before);
    const sparkMarkdown = measuredSpark(results) ? renderSparkResults(results, relative(benchDir, file)) : undefined;
    const readme = join(REPO_ROOT, 'bench', 'README.md');
    if (options.readme) {
      await writeFile(readme, replaceResultsSection(await readFile(readme, 'utf8'), markdown));
      log(`Table: bench/README.md`);
    }
    if (options.readmeSpark && sparkMarkdown) {
      await writeFile(readme, replaceSparkSection(await readFile(readme, 'utf8'), sparkMarkdown));
      log(`Spark table: bench/README.md`);
    }
    log(`\n${markdown}`);
    if (sparkMarkdown) log(`\n${sparkMarkdown}`);
  } finally {
    if (server.started) server.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** One source under measurement: its context, and what its runs gave so far. */
interface Subject {
  readonly source: GeneratedSource;
  readonly name: string;
  readonly month: string;
  readonly plan: string;
  readonly ctx: SideContext;
  readonly measured: Map<Side, RunMeasure[]>;
  readonly errors: Map<Side, string>;
  readonly warmups: Map<Side, number>;
}

/**
 * Measures the sources of one bank size (its 36- and 72-month histories) together. Rounds interleave
 * both the sources and the sides, so that drift in the machine's load (another engineer's tests on the
 * same 2 cores) touches all alike, and the 72/36 ratio compares runs made minutes apart, not a
 * quarter of an hour.
 */
async function measureGroup(
  sources: readonly GeneratedSource[],
  pgPort: number,
  runs: number,
  options: Options,
  workDir: string,
  log: (line: string) => void,
  spark: BenchSpark | { error: string } | undefined,
): Promise<DatasetResult[]> {
  const subjects: Subject[] = [];
  try {
    for (const source of sources) {
      const month = formatMonth(source.spec.lastMonth);
      const name = `${sizeLabel(source.spec.loansPer36Months)}/${source.spec.months}`;
      const c = source.counts;
      const stats = new Client({ connectionString: source.url });
      await stats.connect();
      let ctx: SideContext = {
        repoRoot: REPO_ROOT,
        workDir,
        sourceUrl: source.url,
        databaseName: source.databaseName,
        pgPort,
        month,
        stats,
        timeoutMs: 60 * 60_000,
        ...(options.cpuProfile ? { cpuProfileDir: PROFILE_DIR } : {}),
        ...(spark ? { spark } : {}),
      };
      if (spark && !('error' in spark)) {
        // What every Spark run must stage, bank by bank: the DuckDB engine's parts for this month.
        const reference = await engineReference(ctx);
        if ('error' in reference) ctx = { ...ctx, spark: { error: `no reference to check Spark against: ${reference.error}` } };
        else ctx = { ...ctx, engineParts: reference };
      }
      const plan = await explainWindowRead(stats, month);
      subjects.push({ source, name, month, plan, ctx, measured: new Map(options.sides.map((s) => [s, []])), errors: new Map(), warmups: new Map() });
      log(`  ${name}: ${c.loans.toLocaleString('en-US')} loans (${c.loansInWindow.toLocaleString('en-US')} in the window of ${month}), ${c.clients.toLocaleString('en-US')} clients, ${c.branches} branches`);
      log(`    window read plan: ${plan}`);
    }
    if (options.warmup) {
      // One run of each side first, not counted: the sources are then in PostgreSQL's and the OS's
      // cache, as for every counted run, and a side that cannot run at all is found before the rounds.
      for (const subject of subjects) {
        for (const side of options.sides) {
          const outcome = await runSide(side, subject.ctx);
          if (outcome.ok) subject.warmups.set(side, outcome.run.ms);
          else subject.errors.set(side, outcome.error);
          log(`  ${subject.name} warm-up ${side}: ${outcome.ok ? seconds(outcome.run.ms) : `unavailable: ${outcome.error.split('\n')[0]}`}`);
        }
      }
    }
    for (let round = 1; round <= runs; round++) {
      for (const subject of subjects) {
        const line: string[] = [];
        for (const side of options.sides.filter((s) => !options.warmup || subject.warmups.has(s))) {
          const outcome = await runSide(side, subject.ctx);
          if (outcome.ok) {
            subject.measured.get(side)!.push(outcome.run);
            line.push(`${side} ${seconds(outcome.run.ms)}`);
          } else {
            if (!subject.errors.has(side)) subject.errors.set(side, outcome.error);
            line.push(`${side} failed`);
          }
        }
        if (line.length > 0) log(`  ${subject.name} run ${round}/${runs}: ${line.join(', ')} (load ${loadavg()[0]!.toFixed(2)})`);
      }
    }
    return subjects.map((subject) => {
      const sides: Partial<Record<Side, SideSummary>> = {};
      for (const side of options.sides) sides[side] = summarizeSide(subject.measured.get(side)!, subject.errors.get(side), subject.warmups.get(side));
      const { source } = subject;
      return {
        name: subject.name,
        databaseName: source.databaseName,
        loansPer36Months: source.spec.loansPer36Months,
        months: source.spec.months,
        firstMonth: source.firstMonth,
        month: subject.month,
        counts: source.counts,
        generated: source.generated,
        generateMs: source.generateMs,
        loansReadPlan: subject.plan,
        runsPerSide: runs,
        sides: compareWithFloor(sides),
      };
    });
  } finally {
    for (const subject of subjects) await subject.ctx.stats.end();
  }
}

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

/** The plan PostgreSQL picks for the engine's window read (the window's loans with their accounts and clients, in the engine's read settings), as "node > child, child". */
async function explainWindowRead(client: Client, month: string): Promise<string> {
  await client.query('BEGIN');
  let rows: { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
  try {
    const model = sourceModelOf(findExtract(DEFAULT_EXTRACT_ID));
    for (const setting of readTransactionSettings(model)) await client.query(`SET LOCAL ${setting}`);
    const window = monthWindow({ year: Number(month.slice(0, 4)), month: Number(month.slice(5, 7)) });
    ({ rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${windowReadSql(window, model)}`));
  } finally {
    await client.query('COMMIT');
  }
  const describe = (node: PlanNode): string => {
    const label = `${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}`;
    return node.Plans?.length ? `${label} > ${node.Plans.map(describe).join(', ')}` : label;
  };
  return describe(rows[0]!['QUERY PLAN'][0].Plan);
}

async function duckdbVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', '@duckdb', 'node-api', 'package.json'), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
