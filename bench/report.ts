/** The results as Markdown tables, for bench/README.md (between its results markers) and the console. */
import type { BenchResults } from './run';
import type { Side } from './sides';
import { formatBytes, formatCount, formatPercent, formatRatio, formatSeconds } from './stats';

export const RESULTS_START = '<!-- bench:results:start (written by npm run bench; edits here are overwritten) -->';
export const RESULTS_END = '<!-- bench:results:end -->';

export function replaceResultsSection(readme: string, markdown: string): string {
  const start = readme.indexOf(RESULTS_START);
  const end = readme.indexOf(RESULTS_END);
  if (start < 0 || end < start) throw new Error('bench/README.md has no results markers');
  return `${readme.slice(0, start + RESULTS_START.length)}\n${markdown}\n${readme.slice(end)}`;
}

const SIDE_ORDER: readonly Side[] = ['pipeline', 'engine', 'floor', 'naive'];

export interface Comparison {
  /** Path of the earlier results file, relative to bench/. */
  readonly file: string;
  readonly results: BenchResults;
}

export function renderReadmeResults(r: BenchResults, resultsFile: string, before?: Comparison): string {
  const out: string[] = [];
  const row = (cells: readonly string[]) => out.push(`| ${cells.join(' | ')} |`);
  const table = (header: readonly string[], align?: readonly ('l' | 'r')[]) => {
    row(header);
    row(header.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? '---' : '---:')));
  };
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

  out.push('', `**Time for one month** (median of the runs; warm cache: one uncounted warm-up run of each side first).`, '');
  table(['source', 'loans in table', 'in the window', 'runs', 'pipeline', 'engine', 'floor', 'naive', 'engine peak RSS', 'naive peak RSS']);
  for (const d of r.datasets) {
    row([
      d.name,
      formatCount(d.counts.loans),
      formatCount(d.counts.loansInWindow),
      String(d.runsPerSide),
      ...SIDE_ORDER.map((s) => (d.sides[s]?.available ? formatSeconds(d.sides[s]!.medianMs) : d.sides[s] ? 'n/a' : '–')),
      formatBytes(d.sides.engine?.medianPeakRssBytes),
      formatBytes(d.sides.naive?.medianPeakRssBytes),
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
  }

  out.push('', '**Ratios** (of the medians above).', '');
  table(['source', 'pipeline / floor', 'engine / floor', 'naive / pipeline', 'naive / engine', 'loans read / loans in table', "window's share", 'all rows read / rows of the tables read']);
  for (const q of r.ratios) {
    row([
      q.dataset,
      formatRatio(q.pipelineOverFloor),
      formatRatio(q.engineOverFloor),
      formatRatio(q.naiveOverPipeline),
      formatRatio(q.naiveOverEngine),
      formatPercent(q.loansReadShare, 2),
      formatPercent(q.loansWindowShare, 2),
      formatPercent(q.allRowsReadShare, 2),
    ]);
  }
  const sizes = [...new Set(r.historyRatios.map((h) => h.size))];
  if (sizes.length > 0) {
    out.push('', '**History**: time with 72 months of history / time with 36, same bank, same window.', '');
    table(['bank size', ...SIDE_ORDER]);
    for (const size of sizes) {
      row([`${size} loans / 36 months`, ...SIDE_ORDER.map((s) => formatRatio(r.historyRatios.find((h) => h.size === size && h.side === s)?.ratio))]);
    }
  }

  out.push('', '**Read from the source**: rows each side received (its own count), rows PostgreSQL read for it (pg_stat_user_tables: sequential + index fetches), bytes received.', '');
  table(['source', 'side', 'rows received', 'rows PostgreSQL read', 'of them loans', 'loans index scans', 'bytes received']);
  for (const d of r.datasets) {
    for (const side of SIDE_ORDER) {
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

  const failures = r.datasets.flatMap((d) => SIDE_ORDER.filter((s) => d.sides[s]?.error).map((s) => `- ${d.name} ${s}: ${oneLine(d.sides[s]!.error!)}`));
  const mismatches = r.datasets.flatMap((d) => SIDE_ORDER.filter((s) => d.sides[s]?.sameOutputAsFloor === false).map((s) => `- ${d.name} ${s}: CSV differs from the floor's`));
  if (failures.length + mismatches.length > 0) out.push('', '**Sides not measured, or wrong**', '', ...failures, ...mismatches);
  return out.join('\n');
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
