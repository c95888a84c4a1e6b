/** Small pure helpers of the benchmark: medians, ratios, formatting. Unit-tested in test/unit/bench-stats.test.ts. */

/** The median of the values (mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** a / b, or undefined when either is missing or b is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !(b > 0)) return undefined;
  return a / b;
}

/** For each key of the records, the median of the values present. */
export function medianByKey(records: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const out: Record<string, number> = {};
  for (const key of keys) {
    const m = median(records.map((r) => r[key]).filter((v): v is number => v !== undefined));
    if (m !== undefined) out[key] = m;
  }
  return out;
}

export function formatSeconds(ms: number | undefined, digits = 2): string {
  return ms === undefined ? '–' : `${(ms / 1000).toFixed(digits)} s`;
}

export function formatRatio(value: number | undefined, digits = 2): string {
  return value === undefined ? '–' : `${value.toFixed(digits)}×`;
}

export function formatPercent(value: number | undefined, digits = 1): string {
  return value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`;
}

/** Bytes in binary units: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** 10000000 → "10,000,000". */
export function formatCount(n: number | undefined): string {
  return n === undefined ? '–' : Math.round(n).toLocaleString('en-US');
}

/** "1M", "10M", "250k" (parsed back by parseSize). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new Error(`size must look like 1M, 250k or 1000000, got "${text}"`);
  const factor = { '': 1, k: 1_000, m: 1_000_000 }[match[2]!.toLowerCase() as '' | 'k' | 'm'];
  const value = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`size must be a positive whole number of loans, got "${text}"`);
  return value;
}
