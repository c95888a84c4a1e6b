/**
 * From measured runs to the numbers the benchmark reports: medians per side, the ratios the issue
 * asks for, and each target met or not. Pure functions over the results file's shape.
 */
import type { BundlesOutcome } from './bundles';
import type { RunMeasure, Side } from './sides';
import type { SourceCounts } from './source';
import { median, medianByKey, ratio } from './stats';

export interface SideSummary {
  readonly available: boolean;
  /** Why the side could not be measured (its first failure). */
  readonly error?: string;
  readonly runs: readonly RunMeasure[];
  readonly warmupMs?: number;
  readonly medianMs?: number;
  readonly medianWallMs?: number;
  readonly medianPeakRssBytes?: number;
  /** Spark: the median of the sampled peaks of its process tree's RSS. */
  readonly medianPeakRssSampledBytes?: number;
  readonly medianPgBytesRead?: number;
  readonly breakdownMs?: Readonly<Record<string, number>>;
  readonly sourceRows?: Readonly<Record<string, number>>;
  readonly rowsExamined?: Readonly<Record<string, number>>;
  readonly loansIndexScans?: number;
  /** Whether every run's per-bank CSVs equal the floor's (undefined when either side is missing). */
  readonly sameOutputAsFloor?: boolean;
  /** Spark: whether every counted run staged the DuckDB engine's bytes, bank by bank (a run that did not is not counted). */
  readonly sameStagedPartsAsEngine?: boolean;
}

export interface DatasetResult {
  /** "10M/72": loans per 36 months / months of history. */
  readonly name: string;
  readonly databaseName: string;
  readonly loansPer36Months: number;
  readonly months: number;
  readonly firstMonth: string;
  /** The extracted month (the last month of the history). */
  readonly month: string;
  readonly counts: SourceCounts;
  readonly generated: boolean;
  readonly generateMs: number;
  /** EXPLAIN of the engine's loans read: the plan's nodes, outermost first. */
  readonly loansReadPlan: string;
  readonly runsPerSide: number;
  readonly sides: Readonly<Partial<Record<Side, SideSummary>>>;
}

export interface Ratios {
  readonly dataset: string;
  readonly pipelineOverFloor?: number;
  readonly engineOverFloor?: number;
  readonly naiveOverPipeline?: number;
  readonly naiveOverEngine?: number;
  /** glue/etl.py on the local Spark / the floor, and / the DuckDB engine. */
  readonly sparkOverFloor?: number;
  readonly sparkOverEngine?: number;
  /** Loans rows the engine read / loans in the table. */
  readonly loansReadShare?: number;
  /** The window's share of the table: (loans in the window + NULL-date loans) / loans. */
  readonly loansWindowShare: number;
  /** All rows the engine read / all rows of the tables it reads. */
  readonly allRowsReadShare?: number;
}

export interface HistoryRatio {
  /** "10M": the bank's size; the ratio compares its 72-month source with its 36-month one. */
  readonly size: string;
  readonly side: Side;
  readonly ratio?: number;
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  /** undefined when it could not be measured. */
  readonly met?: boolean;
}

export function summarizeSide(runs: readonly RunMeasure[], error: string | undefined, warmupMs: number | undefined): SideSummary {
  if (runs.length === 0) return { available: false, runs, ...(error ? { error } : {}) };
  const med = (pick: (r: RunMeasure) => number | undefined) => median(runs.map(pick).filter((v): v is number => v !== undefined));
  return {
    available: true,
    runs,
    ...(error ? { error } : {}),
    ...(warmupMs !== undefined ? { warmupMs } : {}),
    medianMs: med((r) => r.ms),
    medianWallMs: med((r) => r.wallMs),
    medianPeakRssBytes: med((r) => r.peakRssBytes),
    ...(runs.some((r) => r.peakRssSampledBytes !== undefined) ? { medianPeakRssSampledBytes: med((r) => r.peakRssSampledBytes) } : {}),
    medianPgBytesRead: med((r) => r.pgBytesRead),
    breakdownMs: medianByKey(runs.map((r) => r.breakdown ?? {})),
    ...(runs[0]!.sourceRows ? { sourceRows: runs[0]!.sourceRows } : {}),
    rowsExamined: medianByKey(runs.map((r) => r.rowsExamined)),
    loansIndexScans: med((r) => r.loansIndexScans),
    ...(runs.some((r) => r.sameStagedPartsAsEngine !== undefined) ? { sameStagedPartsAsEngine: runs.every((r) => r.sameStagedPartsAsEngine === true) } : {}),
  };
}

/** Marks each side whose every run produced the floor's CSVs. */
export function compareWithFloor(sides: Partial<Record<Side, SideSummary>>): Partial<Record<Side, SideSummary>> {
  const floor = sides.floor?.runs[0]?.outputSha256.join(',');
  const out: Partial<Record<Side, SideSummary>> = {};
  for (const [side, summary] of Object.entries(sides) as [Side, SideSummary][]) {
    out[side] =
      floor === undefined || !summary.available
        ? summary
        : { ...summary, sameOutputAsFloor: summary.runs.every((r) => r.outputSha256.join(',') === floor) };
  }
  return out;
}

export function datasetRatios(d: DatasetResult): Ratios {
  const ms = (side: Side) => d.sides[side]?.medianMs;
  const read = d.sides.engine?.sourceRows;
  const tableRows: Record<string, number> = {
    bank: d.counts.banks,
    branch: d.counts.branches,
    client: d.counts.clients,
    account: d.counts.accounts,
    loans: d.counts.loans,
  };
  const allRead = read ? Object.values(read).reduce((a, b) => a + b, 0) : undefined;
  const allRows = read ? Object.keys(read).reduce((sum, t) => sum + (tableRows[t] ?? 0), 0) : undefined;
  return {
    dataset: d.name,
    pipelineOverFloor: ratio(ms('pipeline'), ms('floor')),
    engineOverFloor: ratio(ms('engine'), ms('floor')),
    naiveOverPipeline: ratio(ms('naive'), ms('pipeline')),
    naiveOverEngine: ratio(ms('naive'), ms('engine')),
    ...(d.sides.spark ? { sparkOverFloor: ratio(ms('spark'), ms('floor')), sparkOverEngine: ratio(ms('spark'), ms('engine')) } : {}),
    loansReadShare: ratio(read?.loans, d.counts.loans),
    loansWindowShare: (d.counts.loansInWindow + d.counts.loansNullDate) / d.counts.loans,
    allRowsReadShare: ratio(allRead, allRows),
  };
}

/** For every size measured at two history lengths: time at the longer / time at the shorter, per side. */
export function historyRatios(datasets: readonly DatasetResult[]): HistoryRatio[] {
  const out: HistoryRatio[] = [];
  const sizes = [...new Set(datasets.map((d) => d.loansPer36Months))];
  for (const size of sizes) {
    const bySize = datasets.filter((d) => d.loansPer36Months === size).sort((a, b) => a.months - b.months);
    if (bySize.length < 2) continue;
    const short = bySize[0]!;
    const long = bySize[bySize.length - 1]!;
    // The spark side only where it was measured (it needs scripts/setup-spark.sh).
    const sides: readonly Side[] = short.sides.spark || long.sides.spark ? ['pipeline', 'engine', 'floor', 'naive', 'spark'] : ['pipeline', 'engine', 'floor', 'naive'];
    for (const side of sides) {
      out.push({ size: sizeName(short), side, ratio: ratio(long.sides[side]?.medianMs, short.sides[side]?.medianMs) });
    }
  }
  return out;
}

/** 1 MB as the deploy test reads it (test/deploy/lambda-bundles.test.ts): 1 MiB. */
const MB = 1024 * 1024;
const GIB = 1024 ** 3;

/** The issues' targets, judged on the largest size measured (10M loans in a full run); `before`: the --compare run's. */
export function evaluateTargets(datasets: readonly DatasetResult[], bundles: BundlesOutcome | undefined, before?: readonly DatasetResult[]): Target[] {
  const largest = Math.max(...datasets.map((d) => d.loansPer36Months));
  const atLargest = datasets.filter((d) => d.loansPer36Months === largest);
  const targets: Target[] = [];
  const list = (values: [string, number | undefined][], format: (v: number) => string) =>
    values.map(([name, v]) => `${name}: ${v === undefined ? 'not measured' : format(v)}`).join('; ');

  const engineFloor = atLargest.map((d) => [d.name, datasetRatios(d).engineOverFloor] as [string, number | undefined]);
  targets.push({
    name: 'engine step within 2× of the PostgreSQL floor',
    goal: 'engine / floor ≤ 2',
    measured: list(engineFloor, (v) => `${v.toFixed(2)}×`),
    met: allKnown(engineFloor.map(([, v]) => v), (v) => v <= 2),
  });

  // The monthly run is the pipeline; the engine step is shown beside it. "Within 10%" either way.
  const history = historyRatios(atLargest);
  const monthly = history.find((h) => h.side === 'pipeline' && h.ratio !== undefined) ?? history.find((h) => h.side === 'engine');
  const shown = history.filter((h) => (h.side === 'pipeline' || h.side === 'engine') && h.ratio !== undefined);
  targets.push({
    name: 'monthly run independent of history length',
    goal: '72-month / 36-month time within 0.90–1.10',
    measured: shown.length > 0 ? shown.map((h) => `${h.side}: ${h.ratio!.toFixed(2)}×`).join('; ') : 'needs both history lengths',
    met: monthly?.ratio === undefined ? undefined : Math.abs(monthly.ratio - 1) <= 0.1 + 1e-9,
  });

  const shares = atLargest.map((d) => {
    const r = datasetRatios(d);
    return [d.name, r.loansReadShare === undefined ? undefined : r.loansReadShare / r.loansWindowShare] as [string, number | undefined];
  });
  targets.push({
    name: "rows read at most the window's share of the table",
    goal: "loans rows read ≤ the window's loans (+ NULL-date loans)",
    measured: list(shares, (v) => `${v.toFixed(3)}× the window's share`),
    met: allKnown(shares.map(([, v]) => v), (v) => v <= 1 + 1e-9),
  });

  // Only what the month references (contract section 3), on both engines.
  const received = (d: DatasetResult, side: Side) => {
    const rows = d.sides[side]?.sourceRows;
    return rows ? Object.values(rows).reduce((a, b) => a + b, 0) : undefined;
  };
  for (const side of ['engine', 'spark'] as const) {
    if (!atLargest.some((d) => d.sides[side]?.available)) continue;
    const rows = atLargest.map((d) => [d.name, received(d, side)] as [string, number | undefined]);
    targets.push({
      name: `rows the ${side === 'engine' ? 'engine' : 'Spark job'} receives for the month`,
      goal: '≤ 2.5M (5.84M before)',
      measured: list(rows, (v) => v.toLocaleString('en-US')),
      met: allKnown(rows.map(([, v]) => v), (v) => v <= 2_500_000),
    });
    const [short, long] = [...atLargest].sort((a, b) => a.months - b.months);
    const growth = short && long && short !== long ? ratio(received(long, side), received(short, side)) : undefined;
    targets.push({
      name: `rows the ${side === 'engine' ? 'engine' : 'Spark job'} receives flat in history`,
      goal: '72-month / 36-month ≤ 1.01 (the NULL-date loans grow with history)',
      measured: growth === undefined ? 'needs both history lengths' : `${growth.toFixed(4)}×`,
      met: growth === undefined ? undefined : growth <= 1.01,
    });
  }
  const bytes = atLargest.map((d) => [d.name, d.sides.engine?.medianPgBytesRead] as [string, number | undefined]);
  targets.push({
    name: 'bytes the engine receives from PostgreSQL',
    goal: '≤ 50 MiB (113 MiB before)',
    measured: list(bytes, (v) => `${(v / 1024 ** 2).toFixed(1)} MiB`),
    met: allKnown(bytes.map(([, v]) => v), (v) => v <= 50 * 1024 ** 2),
  });
  if (before) {
    const speed = atLargest.map((d) => {
      const then = before.find((b) => b.name === d.name)?.sides.engine?.medianMs;
      return [d.name, ratio(d.sides.engine?.medianMs, then)] as [string, number | undefined];
    });
    targets.push({
      name: 'engine time against the compared run',
      goal: '≤ 0.8× before',
      measured: list(speed, (v) => `${v.toFixed(2)}×`),
      met: allKnown(speed.map(([, v]) => v), (v) => v <= 0.8),
    });
  }

  const rss = atLargest.map((d) => [d.name, d.sides.engine?.medianPeakRssBytes] as [string, number | undefined]);
  targets.push({
    name: 'engine peak RSS under 1 GiB',
    goal: '< 1 GiB',
    measured: list(rss, (v) => `${(v / 1024 ** 2).toFixed(0)} MiB`),
    met: allKnown(rss.map(([, v]) => v), (v) => v < GIB),
  });

  if (!bundles?.ok) {
    targets.push({ name: 'every Lambda bundle under 1 MB zipped', goal: '< 1 MiB (1,048,576 bytes)', measured: bundles ? `not measured: ${bundles.error.split('\n')[0]}` : 'not measured' });
  } else {
    const largestZip = Math.max(...bundles.bundles.map((b) => b.zipBytes));
    targets.push({
      name: 'every Lambda bundle under 1 MB zipped',
      goal: '< 1 MiB (1,048,576 bytes)',
      measured: `largest ${largestZip.toLocaleString('en-US')} bytes${bundles.individually ? '' : ' (one zip for the whole service: package.individually is off)'}`,
      met: largestZip < MB,
    });
  }
  return targets;
}

function allKnown(values: readonly (number | undefined)[], test: (v: number) => boolean): boolean | undefined {
  if (values.length === 0 || values.some((v) => v === undefined)) return undefined;
  return values.every((v) => test(v!));
}

function sizeName(d: DatasetResult): string {
  return d.name.split('/')[0]!;
}
