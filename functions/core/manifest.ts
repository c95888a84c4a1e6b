import { estimatedCostSchema, type EstimatedCost } from './run-cost';

/**
 * The month's manifest (contract section 3), written after the files: what a consumer reconciles
 * against. Counts of money and loans are decimal strings, since they are BigInt sums and JSON
 * numbers lose precision above 2^53.
 */

export interface ControlTotals {
  /** Sum of the file's `loan_count` column. */
  readonly loan_count: string;
  /** Sum of the file's `loan_amount` column. */
  readonly loan_amount: string;
}

export interface ManifestFile {
  readonly key: string;
  readonly bankId: number;
  /** `bank.name` as stored. */
  readonly bankName: string;
  /** Data rows, header excluded. */
  readonly rows: number;
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
  readonly controlTotals: ControlTotals;
}

export interface Manifest {
  /** `YYYY-MM` */
  readonly month: string;
  readonly runId: string;
  /** ISO 8601 UTC. */
  readonly generatedAt: string;
  /** Rows read from the ODS per table. */
  readonly sourceRowsRead: Readonly<Record<string, number>>;
  /** Loans left out of the numbers, per reason. */
  readonly rowsRejected: Readonly<Record<string, number>>;
  /** Sorted by key. */
  readonly files: readonly ManifestFile[];
  /**
   * What the run is estimated to have cost (core/run-cost.ts), after the contract's fields; absent
   * when the run had no usage to price (an execution started before it was passed).
   */
  readonly estimatedCost?: EstimatedCost;
}

/** Stable text: same content, same bytes (key order fixed by construction, files and maps sorted). */
export function serializeManifest(manifest: Manifest): string {
  const ordered: Manifest = {
    month: manifest.month,
    runId: manifest.runId,
    generatedAt: manifest.generatedAt,
    sourceRowsRead: sortedRecord(manifest.sourceRowsRead),
    rowsRejected: sortedRecord(manifest.rowsRejected),
    files: [...manifest.files]
      .sort((a, b) => compare(a.key, b.key))
      .map((f) => ({
        key: f.key,
        bankId: f.bankId,
        bankName: f.bankName,
        rows: f.rows,
        bytes: f.bytes,
        sha256: f.sha256,
        controlTotals: { loan_count: f.controlTotals.loan_count, loan_amount: f.controlTotals.loan_amount },
      })),
    // Parsing builds the cost in its schema's key order, as the other fields are fixed above.
    ...(manifest.estimatedCost ? { estimatedCost: estimatedCostSchema.parse(manifest.estimatedCost) } : {}),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Reads a manifest this module wrote; throws if the text is not one. */
export function parseManifest(text: string): Manifest {
  const value = JSON.parse(text) as Partial<Manifest>;
  if (typeof value.month !== 'string' || typeof value.runId !== 'string' || !Array.isArray(value.files)) {
    throw new Error('not a manifest: month, runId or files missing');
  }
  return value as Manifest;
}

function sortedRecord(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compare(a, b)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
