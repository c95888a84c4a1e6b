/** The results as Markdown tables, for bench/README.md (between its results markers) and the console. */
import type { BenchResults } from './run';
import type { Side } from './sides';
import type { SideSummary } from './summary';
import { formatBytes, formatCount, formatPercent, formatRatio, formatSeconds } from './stats';

export const RESULTS_START = '<!-- bench:results:start (written by npm run bench; edits here are overwritten) -->';
export const RESULTS_END = '<!-- bench:results:end -->';
/** The spark side's own section, written by a run that measured it (see renderSparkResults). */
export const SPARK_START = '<!-- bench:spark:start (written by npm run bench with the spark side; edits here are overwritten) -->';
export const SPARK_END = '<!-- bench:spark:end -->';

export function replaceResultsSection(readme: string, markdown: string): string {
  return replaceSection(readme, RESULTS_START, RESULTS_END, markdown, 'results');
}

export function replaceSparkSection(readme: string, markdown: string): string {
  return replaceSection(readme, SPARK_START, SPARK_END, markdown, 'Spark results');
}

function replaceSection(readme: string, startMarker: string, endMarker: string, markdown: string, what: string): string {
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`bench/README.md has no ${what} markers`);
  return `${readme.slice(0, start + startMarker.length)}\n${markdown}\n${readme.slice(end)}`;
}

const SIDE_ORDER: readonly Side[] = ['pipeline', 'engine', 'floor', 'naive', 'spark'];

export interface Comparison {
  /** Path of the earlier results file, relative to bench/. */
  readonly file: string;
  readonly results: BenchResults;
}

type Row = (cells: readonly string[]) => void;
type Table = (header: readonly string[], align?: readonly ('l' | 'r')[]) => void;

function markdown(): { out: string[]; row: Row; table: Table } {
  const out: string[] = [];
  const row: Row = (cells) => out.push(`| ${cells.join(' | ')} |`);
  const table: Table = (header, align) => {
    row(header);
    row(header.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? '---' : '---:')));
  };
  return { out, row, table };
}

/** Whether the run measured the spark side (it needs scripts/setup-spark.sh). */
export function measuredSpark(r: BenchResults): boolean {
  return r.datasets.some((d) => d.sides.spark !== undefined);
}

function runHeader(r: BenchResults, resultsFile: string, { out, row, table }: ReturnType<typeof markdown>): void {
  const m = r.machine;
  out.push(`Run of ${r.startedAt.slice(0, 10)} (\`${r.command}\`), results in [\`${resultsFile}\`](${resultsFile}).`);
  out.push('');
  table(['machine', 'cores', 'memory', 'PostgreSQL', 'Node', 'DuckDB', 'load (1 min) start → end'], ['l', 'r', 'r', 'l', 'l', 'l', 'l']);
  row([
    m.cpuModel,
    String(m.cpus),
    formatBytes(m.memoryBytes),
    `${r.postgres.version} (shared_buffers ${r.postgres.settings.shared_buffers}, work_mem ${r.postgres.settings.work_mem})`,
    m.node,
    m.duckdb,
    `${m.loadAvgAtStart[0]?.toFixed(2)} → ${m.loadAvgAtEnd?.[0]?.toFixed(2) ?? '?'}`,
  ]);
  if (m.note) out.push('', `Note: ${m.note}`);
}

export function renderReadmeResults(r: BenchResults, resultsFile: string, before?: Comparison): string {
  const md = markdown();
  const { out, row, table } = md;
  // The spark side's columns only in runs that measured it; its details are in renderSparkResults.
  const hasSpark = measuredSpark(r);
  const sideOrder = SIDE_ORDER.filter((s) => s !== 'spark' || hasSpark);
  runHeader(r, resultsFile, md);

  out.push('', `**Time for one month** (median of the runs; warm cache: one uncounted warm-up run of each side first).`, '');
  table(['source', 'loans in table', 'in the window', 'runs', ...sideOrder, 'engine peak RSS', 'naive peak RSS', ...(hasSpark ? ['spark peak RSS'] : [])]);
  for (const d of r.datasets) {
    row([
      d.name,
      formatCount(d.counts.loans),
      formatCount(d.counts.loansInWindow),
      String(d.runsPerSide),
      ...sideOrder.map((s) => (d.sides[s]?.available ? formatSeconds(d.sides[s]!.medianMs) : d.sides[s] ? 'n/a' : '–')),
      formatBytes(d.sides.engine?.medianPeakRssBytes),
      formatBytes(d.sides.naive?.medianPeakRssBytes),
      ...(hasSpark ? [formatBytes(d.sides.spark?.medianPeakRssBytes)] : []),
    ]);
  }

  if (before) {
    out.push('', `**Before → after**: the earlier run [\`${before.file}\`](${before.file}) (${before.results.startedAt.slice(0, 16).replace('T', ' ')} UTC) against this one.`, '');
    table(['source', 'engine', 'engine speed-up', 'engine / floor', 'pipeline', 'naive', 'engine peak RSS', 'bytes received by the engine']);
    for (const d of r.datasets) {
      const b = before.results.datasets.find((x) => x.name === d.name);
      if (!b) continue;
      const arrow = (x: string, y: string) => `${x} → ${y}`;
      const ms = (x: typeof d, s: Side) => x.sides[s]?.medianMs;
      const floorRatio = (x: typeof d) => {
        const e = ms(x, 'engine');
        const f = ms(x, 'floor');
        return e !== undefined && f !== undefined && f > 0 ? e / f : undefined;
      };
      const before_ = ms(b, 'engine');
      const after = ms(d, 'engine');
      row([
        d.name,
        arrow(formatSeconds(before_), formatSeconds(after)),
        formatRatio(before_ !== undefined && after !== undefined && after > 0 ? before_ / after : undefined, 1),
        arrow(formatRatio(floorRatio(b)), formatRatio(floorRatio(d))),
        arrow(formatSeconds(ms(b, 'pipeline')), formatSeconds(ms(d, 'pipeline'))),
        arrow(formatSeconds(ms(b, 'naive')), formatSeconds(ms(d, 'naive'))),
        arrow(formatBytes(b.sides.engine?.medianPeakRssBytes), formatBytes(d.sides.engine?.medianPeakRssBytes)),
        arrow(formatBytes(b.sides.engine?.medianPgBytesRead), formatBytes(d.sides.engine?.medianPgBytesRead)),
      ]);
    }

    out.push('', '**Before → after, what each side read**: rows received per table (its own counts), bytes received (Node sides), rows PostgreSQL read for it (pg_stat_user_tables), time (median).', '');
    table(['source', 'side', 'client', 'account', 'loans', 'bank + branch', 'rows received', 'bytes received', 'rows PostgreSQL read', 'time']);
    for (const d of r.datasets) {
      const b = before.results.datasets.find((x) => x.name === d.name);
      if (!b) continue;
      for (const side of sideOrder) {
        const now = d.sides[side];
        const then = b.sides[side];
        if (!now?.available && !then?.available) continue;
        const both = (pick: (s: SideSummary | undefined) => string) => `${pick(then)} → ${pick(now)}`;
        const rows = (s: SideSummary | undefined, ...tables: string[]) =>
          s?.sourceRows ? formatCount(tables.reduce((n, t) => n + (s.sourceRows![t] ?? 0), 0)) : '–';
        const sum = (record: Readonly<Record<string, number>> | undefined) => (record ? formatCount(Object.values(record).reduce((x, y) => x + y, 0)) : '–');
        row([
          d.name,
          side,
          both((s) => rows(s, 'client')),
          both((s) => rows(s, 'account')),
          both((s) => rows(s, 'loans')),
          both((s) => rows(s, 'bank', 'branch')),
          both((s) => sum(s?.sourceRows)),
          both((s) => formatBytes(s?.medianPgBytesRead)),
          both((s) => sum(s?.rowsExamined)),
          both((s) => (s?.available ? formatSeconds(s.medianMs) : '–')),
        ]);
      }
    }
    out.push('', "**PostgreSQL's plan for the engine's read of the window** (EXPLAIN in the engine's read settings).", '');
    table(['source', 'before', 'after']);
    for (const d of r.datasets) {
      const b = before.results.datasets.find((x) => x.name === d.name);
      if (b) row([d.name, b.loansReadPlan, d.loansReadPlan]);
    }
  }

  out.push('', '**Ratios** (of the medians above).', '');
  table([
    'source', 'pipeline / floor', 'engine / floor', 'naive / pipeline', 'naive / engine',
    ...(hasSpark ? ['spark / floor', 'spark / engine'] : []),
    'loans read / loans in table', "window's share", 'all rows read / rows of the tables read',
  ]);
  for (const q of r.ratios) {
    row([
      q.dataset,
      formatRatio(q.pipelineOverFloor),
      formatRatio(q.engineOverFloor),
      formatRatio(q.naiveOverPipeline),
      formatRatio(q.naiveOverEngine),
      ...(hasSpark ? [formatRatio(q.sparkOverFloor), formatRatio(q.sparkOverEngine)] : []),
      formatPercent(q.loansReadShare, 2),
      formatPercent(q.loansWindowShare, 2),
      formatPercent(q.allRowsReadShare, 2),
    ]);
  }
  const sizes = [...new Set(r.historyRatios.map((h) => h.size))];
  if (sizes.length > 0) {
    out.push('', '**History**: time with 72 months of history / time with 36, same bank, same window.', '');
    table(['bank size', ...sideOrder]);
    for (const size of sizes) {
      row([`${size} loans / 36 months`, ...sideOrder.map((s) => formatRatio(r.historyRatios.find((h) => h.size === size && h.side === s)?.ratio))]);
    }
  }

  out.push('', '**Read from the source**: rows each side received (its own count), rows PostgreSQL read for it (pg_stat_user_tables: sequential + index fetches), bytes received.', '');
  table(['source', 'side', 'rows received', 'rows PostgreSQL read', 'of them loans', 'loans index scans', 'bytes received']);
  for (const d of r.datasets) {
    for (const side of sideOrder) {
      const s = d.sides[side];
      if (!s?.available) continue;
      const received = s.sourceRows ? Object.values(s.sourceRows).reduce((a, b) => a + b, 0) : undefined;
      const examined = s.rowsExamined ? Object.values(s.rowsExamined).reduce((a, b) => a + b, 0) : undefined;
      row([d.name, side, formatCount(received), formatCount(examined), formatCount(s.rowsExamined?.loans ?? 0), formatCount(s.loansIndexScans), formatBytes(s.medianPgBytesRead)]);
    }
  }

  const phaseNames = [...new Set(r.datasets.flatMap((d) => Object.keys(d.sides.engine?.breakdownMs ?? {})))];
  if (phaseNames.length > 0) {
    out.push('', '**Where the engine step spends its time** (median ms per phase).', '');
    table(['source', ...phaseNames, 'total']);
    for (const d of r.datasets) {
      const b = d.sides.engine?.breakdownMs ?? {};
      row([d.name, ...phaseNames.map((p) => (b[p] === undefined ? '–' : b[p]!.toFixed(0))), d.sides.engine?.medianMs?.toFixed(0) ?? '–']);
    }
  }
  const stateNames = [...new Set(r.datasets.flatMap((d) => Object.keys(d.sides.pipeline?.breakdownMs ?? {})))];
  if (stateNames.length > 0) {
    out.push('', '**Pipeline states** (median ms per state, summed over its visits).', '');
    table(['source', ...stateNames, 'total']);
    for (const d of r.datasets) {
      const b = d.sides.pipeline?.breakdownMs ?? {};
      row([d.name, ...stateNames.map((p) => (b[p] === undefined ? '–' : b[p]!.toFixed(0))), d.sides.pipeline?.medianMs?.toFixed(0) ?? '–']);
    }
  }

  out.push('', '**Lambda bundles** (`osls package --stage prod`; cold import = `require` of the bundled handler in a fresh `node`, median of 5).', '');
  if (!r.bundles) {
    out.push('Not measured in this run.');
  } else if (!r.bundles.ok) {
    out.push('Unavailable in this run:', '', '```', r.bundles.error, '```');
  } else {
    if (!r.bundles.individually) out.push('One zip for the whole service (`package.individually` is not set): every function deploys all handlers.', '');
    table(['function', 'zip', 'zipped bytes', 'cold import']);
    for (const b of r.bundles.bundles) {
      row([b.function, b.zip, formatCount(b.zipBytes), b.coldImportMs === undefined ? `failed: ${b.importError?.split('\n')[0]}` : `${b.coldImportMs.toFixed(0)} ms`]);
    }
  }

  out.push('', '**Targets** (at the largest size measured).', '');
  table(['target', 'goal', 'measured', 'met'], ['l', 'l', 'l', 'l']);
  for (const t of r.targets) row([t.name, t.goal, t.measured, t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**']);

  const failures = r.datasets.flatMap((d) => sideOrder.filter((s) => d.sides[s]?.error).map((s) => `- ${d.name} ${s}: ${oneLine(d.sides[s]!.error!)}`));
  const mismatches = r.datasets.flatMap((d) => [
    ...sideOrder.filter((s) => d.sides[s]?.sameOutputAsFloor === false).map((s) => `- ${d.name} ${s}: CSV differs from the floor's`),
    ...(d.sides.spark?.sameStagedPartsAsEngine === false ? [`- ${d.name} spark: staged parts differ from the DuckDB engine's`] : []),
  ]);
  if (failures.length + mismatches.length > 0) out.push('', '**Sides not measured, or wrong**', '', ...failures, ...mismatches);
  return out.join('\n');
}

/**
 * The spark side's section: how it ran, its time against the engine and the floor of the same run,
 * its memory, what it read, its phases, and any run not counted.
 */
export function renderSparkResults(r: BenchResults, resultsFile: string): string {
  const md = markdown();
  const { out, row, table } = md;
  runHeader(r, resultsFile, md);
  const setup = r.spark;
  const jvms = setup?.jvms ?? [];
  out.push(
    '',
    `**Spark**: glue/etl.py on the local Spark of \`scripts/setup-spark.sh\`${jvms[0] ? ` (${jvms[0].sparkVersion})` : ''}, ${setup?.master ?? 'local[2]'}, ` +
      `driver memory ${setup?.driverMemory ?? '?'}, \`--read_partitions\` ${setup?.readPartitions ?? '?'}, Spark settings ${setup?.sparkConf ?? '?'}. ` +
      `Time: from the job request to its answer, in one JVM per bank size; the JVM's start is not in it: ` +
      `${jvms.length > 0 ? jvms.map((j) => `${formatSeconds(j.startMs)} (${j.served}, ${formatBytes(j.idleRssBytes)} resident when started)`).join(', ') : 'not started'}. ` +
      'Peak RSS: the process tree (the python server, its JVM and the JVM\'s python workers), each process\'s VmHWM reset before the run and summed after it; sampled: the largest sum of their VmRSS seen every 100 ms. ' +
      "Every counted run staged, bank by bank, the bytes the DuckDB engine stages for the month (checked against an uncounted engine run; a run that does not is not counted).",
    '',
  );
  table([
    'source', 'runs', 'spark', 'engine', 'floor', 'spark / floor', 'spark / engine', 'spark peak RSS (process tree)', 'sampled', 'engine peak RSS',
    'rows read: bank', 'branch', 'client', 'account', 'loans', 'rows PostgreSQL read', 'staged parts = engine\'s', 'load (1 min) at the spark runs',
  ]);
  for (const d of r.datasets) {
    const s = d.sides.spark;
    const q = r.ratios.find((x) => x.dataset === d.name);
    const rows = s?.sourceRows ?? {};
    const examined = s?.rowsExamined ? Object.values(s.rowsExamined).reduce((a, b) => a + b, 0) : undefined;
    const loads = s?.runs.map((x) => x.loadAvg1) ?? [];
    row([
      d.name,
      String(s?.runs.length ?? 0),
      s?.available ? formatSeconds(s.medianMs) : s ? 'n/a' : '–',
      formatSeconds(d.sides.engine?.medianMs),
      formatSeconds(d.sides.floor?.medianMs),
      formatRatio(q?.sparkOverFloor),
      formatRatio(q?.sparkOverEngine),
      formatBytes(s?.medianPeakRssBytes),
      formatBytes(s?.medianPeakRssSampledBytes),
      formatBytes(d.sides.engine?.medianPeakRssBytes),
      ...['bank', 'branch', 'client', 'account', 'loans'].map((t) => formatCount(rows[t])),
      formatCount(examined),
      s?.sameStagedPartsAsEngine === undefined ? '–' : s.sameStagedPartsAsEngine ? 'yes, byte for byte' : '**no**',
      loads.length > 0 ? `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}` : '–',
    ]);
  }
  const phases = [...new Set(r.datasets.flatMap((d) => Object.keys(d.sides.spark?.breakdownMs ?? {})))];
  if (phases.length > 0) {
    out.push('', "**Where the Spark job spends its time** (median ms per phase, from glue/etl.py's log lines: `start` is the job's set-up up to its first line, `compute` the shared SQL and its rows counted per bank, `write:rows` the CSV parts and the rejected counts, `write:json` the rejected, banks and source_rows files).", '');
    table(['source', ...phases, 'total']);
    for (const d of r.datasets) {
      const b = d.sides.spark?.breakdownMs ?? {};
      row([d.name, ...phases.map((p) => (b[p] === undefined ? '–' : b[p]!.toFixed(0))), d.sides.spark?.medianMs?.toFixed(0) ?? '–']);
    }
  }
  const problems = [
    ...(setup?.error ? [`- the local Spark: ${oneLine(setup.error)}`] : []),
    ...r.datasets.filter((d) => d.sides.spark?.error).map((d) => `- ${d.name} spark: ${oneLine(d.sides.spark!.error!)}`),
    ...r.datasets.filter((d) => d.sides.spark?.sameOutputAsFloor === false).map((d) => `- ${d.name} spark: CSV differs from the floor's`),
  ];
  if (problems.length > 0) out.push('', '**Spark runs not measured, or wrong**', '', ...problems);
  return out.join('\n');
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
