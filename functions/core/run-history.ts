/**
 * An extract's months from the run ledger, one row per month: status, attempts, when its last attempt
 * started and finished, and what its last successful run published, with the extract's control
 * totals (its definition's `output.controlTotals`). Totals are decimal strings summed as BigInt (as
 * in the manifest), never floating point.
 */
import type { ExtractSchedule } from './extract-schedule';
import { monthDueAt } from './missed-month';
import { compareMonths, lastCompleteMonth, parseMonth, type ExtractMonth } from './month';
import { monthsBetween } from './month-range';
import type { MonthRecord, RunStatus } from './run-ledger';

/** Reads every month's record of one extract (the ledger's `extract#<id>#month#` items). */
export interface RunHistorySource {
  listMonths(extractId: string): Promise<MonthRecord[]>;
}

/** What the history needs of an extract's definition. */
export interface HistoryExtract {
  readonly id: string;
  /** The columns summed per file in the manifest, in the definition's order. */
  readonly controlTotals: readonly string[];
  /** When each month is due (missed-month.ts monthDueAt), and the time zone its months are complete in. */
  readonly schedule: ExtractSchedule;
}

export function historyExtractOf(definition: {
  readonly id: string;
  readonly schedule: ExtractSchedule;
  readonly output: { readonly controlTotals: readonly string[] };
}): HistoryExtract {
  return { id: definition.id, controlTotals: definition.output.controlTotals, schedule: definition.schedule };
}

/**
 * A month without a record: NEVER_RAN once it is due (its scheduled run in the month after, plus the
 * grace the missed-month check gives it), NOT_DUE before, so that the current month does not read as
 * missed on the morning before its run.
 */
export type NoRunStatus = 'NEVER_RAN' | 'NOT_DUE';

export interface MonthHistoryRow {
  readonly extract: string;
  readonly month: string;
  readonly status: RunStatus | NoRunStatus;
  readonly attempts: number;
  /** ISO-8601 UTC, of the last attempt. */
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationSeconds: number | null;
  /** Of the last successful run (a month re-run and failed keeps its published files). */
  readonly files: number | null;
  readonly rows: number | null;
  /** Loans left out, all reasons; null when unknown (no success, or recorded before it was kept). */
  readonly rejectedRows: number | null;
  /** Each control-total column's sum over the files, as a decimal string. */
  readonly controlTotals: Readonly<Record<string, string>> | null;
}

/** The row of `month` as at `now` (which only matters for a month without a record). */
export function historyRow(extract: HistoryExtract, month: string, record: MonthRecord | undefined, now: Date): MonthHistoryRow {
  if (!record) {
    const status: NoRunStatus = monthDueAt(extract.schedule, parseMonth(month)) <= now ? 'NEVER_RAN' : 'NOT_DUE';
    return { extract: extract.id, month, status, attempts: 0, startedAt: null, finishedAt: null, durationSeconds: null, files: null, rows: null, rejectedRows: null, controlTotals: null };
  }
  const finishedAt = record.finishedAt ?? null;
  const stats = record.stats;
  return {
    extract: extract.id,
    month,
    status: record.status,
    attempts: record.attempt,
    startedAt: record.startedAt,
    finishedAt,
    durationSeconds: finishedAt ? Math.round((Date.parse(finishedAt) - Date.parse(record.startedAt)) / 1000) : null,
    files: stats?.fileCount ?? null,
    rows: stats?.rows ?? null,
    rejectedRows: stats?.rowsRejected ? Object.values(stats.rowsRejected).reduce((sum, n) => sum + n, 0) : null,
    controlTotals: stats ? controlTotals(extract.controlTotals, stats.files) : null,
  };
}

function controlTotals(columns: readonly string[], files: NonNullable<MonthRecord['stats']>['files']): Record<string, string> {
  const sums = new Map(columns.map((column) => [column, 0n]));
  for (const file of files) {
    const totals = file.controlTotals as Record<string, string | undefined> | undefined;
    for (const column of columns) sums.set(column, sums.get(column)! + BigInt(totals?.[column] ?? 0));
  }
  return Object.fromEntries([...sums].map(([column, sum]) => [column, sum.toString()]));
}

/**
 * One row per month from `from` to `to` as at `now`, months without a record included (NEVER_RAN, or
 * NOT_DUE). An open end is the first recorded month, or the last complete month at `now` in the
 * schedule's time zone; no records and no range: none.
 */
export function historyRows(
  extract: HistoryExtract,
  records: readonly MonthRecord[],
  range: { from?: ExtractMonth; to?: ExtractMonth },
  now: Date,
): MonthHistoryRow[] {
  const latest = lastCompleteMonth(now, extract.schedule.timeZone);
  const byMonth = new Map(records.map((r) => [r.month, r]));
  const recorded = [...byMonth.keys()].map((m) => parseMonth(m)).sort(compareMonths);
  const from = range.from ?? recorded[0];
  const lastRecorded = recorded[recorded.length - 1];
  const to = range.to ?? (lastRecorded && compareMonths(lastRecorded, latest) > 0 ? lastRecorded : latest);
  if (!from || compareMonths(from, to) > 0) return [];
  return monthsBetween(from, to).map((month) => historyRow(extract, month, byMonth.get(month), now));
}

type Column = [string, (row: MonthHistoryRow) => string, 'left' | 'right'];

const COLUMNS: Column[] = [
  ['month', (r) => r.month, 'left'],
  ['status', (r) => r.status, 'left'],
  ['attempts', (r) => String(r.attempts), 'right'],
  ['started', (r) => shortTime(r.startedAt), 'left'],
  ['finished', (r) => shortTime(r.finishedAt), 'left'],
  ['duration', (r) => (r.durationSeconds === null ? '' : formatSeconds(r.durationSeconds)), 'right'],
  ['files', (r) => optional(r.files), 'right'],
  ['rows', (r) => optional(r.rows), 'right'],
  ['rejected', (r) => optional(r.rejectedRows), 'right'],
];

/** A plain-text table, one line per row, columns padded; then one column per control total of the extract. */
export function formatHistoryTable(extract: HistoryExtract, rows: readonly MonthHistoryRow[]): string {
  const columns: Column[] = [...COLUMNS, ...extract.controlTotals.map((name): Column => [name, (r) => r.controlTotals?.[name] ?? '', 'right'])];
  const cells = [columns.map(([name]) => name), ...rows.map((row) => columns.map(([, value]) => value(row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells
    .map((line) => line.map((cell, i) => (columns[i]![2] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

function optional(value: number | null): string {
  return value === null ? '' : String(value);
}

/** `2024-04-01T00:02:13.456Z` → `2024-04-01 00:02:13Z` */
function shortTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : '';
}

export function formatSeconds(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
