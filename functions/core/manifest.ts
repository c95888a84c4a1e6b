import type { ExtractDefinition } from './extract-definition';
import { estimatedCostSchema, type EstimatedCost } from './run-cost';

/**
 * The month's manifest (contract section 3), written after the files: what a consumer reconciles
 * against. Control totals are decimal strings, since they are BigInt sums and JSON numbers lose
 * precision above 2^53.
 *
 * A file entry is `{key, <id field>, <name field>, rows, bytes, sha256, controlTotals}`, its entity's
 * id and stored name under the names the definition's `output.manifestFields` gives them, and
 * controlTotals holding one sum per `output.controlTotals` column in that order: for the loan
 * extract `{key, bankId, bankName, …, controlTotals: {loan_count, loan_amount}}`.
 */

export interface ManifestFile {
  readonly key: string;
  /** Data rows, header excluded. */
  readonly rows: number;
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
  /** Sum of each control-total column, as a decimal string. */
  readonly controlTotals: Readonly<Record<string, string>>;
  /** The entity's id and name, under the definition's manifestFields names. */
  readonly [entityField: string]: unknown;
}

type ManifestShape = Pick<ExtractDefinition['output'], 'manifestFields' | 'controlTotals'>;

export interface FileEntryParts {
  readonly key: string;
  readonly entity: { readonly id: number; readonly name: string };
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  /** In the order of `output.controlTotals`. */
  readonly controlTotals: readonly bigint[];
}

/** A file entry with its fields named and ordered as the definition says (the order serializeManifest keeps). */
export function manifestFileEntry(output: ManifestShape, parts: FileEntryParts): ManifestFile {
  return {
    key: parts.key,
    [output.manifestFields.id]: parts.entity.id,
    [output.manifestFields.name]: parts.entity.name,
    rows: parts.rows,
    bytes: parts.bytes,
    sha256: parts.sha256,
    controlTotals: Object.fromEntries(output.controlTotals.map((column, i) => [column, parts.controlTotals[i]!.toString()])),
  };
}

export interface Manifest {
  /** `YYYY-MM` */
  readonly month: string;
  readonly runId: string;
  /** ISO 8601 UTC. */
  readonly generatedAt: string;
  /** Rows read from the ODS per table. */
  readonly sourceRowsRead: Readonly<Record<string, number>>;
  /** Source rows left out of the numbers, per reason (empty for an extract without rejected SQL). */
  readonly rowsRejected: Readonly<Record<string, number>>;
  /** Sorted by key. */
  readonly files: readonly ManifestFile[];
  /**
   * What the run is estimated to have cost (core/run-cost.ts), after the contract's fields; absent
   * when the run had no usage to price (an execution started before it was passed).
   */
  readonly estimatedCost?: EstimatedCost;
}

/**
 * Stable text: same content, same bytes (key order fixed here from the definition's output, files
 * and maps sorted), whatever order the manifest's objects were built or parsed in.
 */
export function serializeManifest(manifest: Manifest, output: ManifestShape): string {
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
        [output.manifestFields.id]: f[output.manifestFields.id],
        [output.manifestFields.name]: f[output.manifestFields.name],
        rows: f.rows,
        bytes: f.bytes,
        sha256: f.sha256,
        controlTotals: Object.fromEntries(output.controlTotals.map((column) => [column, controlTotal(f, column)])),
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

function controlTotal(file: ManifestFile, column: string): string {
  const total = file.controlTotals[column];
  if (total === undefined) throw new Error(`manifest entry ${file.key} has no control total for ${column}`);
  return total;
}

function sortedRecord(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compare(a, b)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
