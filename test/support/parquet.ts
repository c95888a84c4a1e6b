/**
 * Reads the analytics copy (analytics/bank_id=<id>/part-*.parquet) back with DuckDB's own Parquet
 * reader, in a DuckDB of its own: a reader independent of the writer (Spark, or the engine's COPY), as
 * Athena would be. Also the staged CSV parts, parsed by the publish step's reader, to compare with.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseCsvText } from '../../functions/core/csv-reader';

/** The analytics copy's columns, their DuckDB types as read back, and what the Parquet schema must say. */
export const ANALYTICS_SCHEMA = [
  { name: 'bank_name', duckdb: 'VARCHAR', parquet: 'string' },
  { name: 'branch_id', duckdb: 'BIGINT', parquet: 'int64' },
  { name: 'branch_address', duckdb: 'VARCHAR', parquet: 'string' },
  { name: 'month', duckdb: 'VARCHAR', parquet: 'string' },
  { name: 'loan_count', duckdb: 'BIGINT', parquet: 'int64' },
  { name: 'loan_amount', duckdb: 'BIGINT', parquet: 'int64' },
  { name: 'loan_count_3m', duckdb: 'BIGINT', parquet: 'int64' },
  { name: 'loan_amount_3m', duckdb: 'BIGINT', parquet: 'int64' },
  { name: 'moving_avg_3m', duckdb: 'DECIMAL(20,2)', parquet: 'decimal(20,2)' },
] as const;

export interface ParquetPart {
  /** DuckDB's DESCRIBE of read_parquet: [column, type] in file order. */
  readonly described: Array<[string, string]>;
  /** Per column of the file's schema: string (BYTE_ARRAY, UTF8), int64 (INT64), decimal(p,s), or what it is. */
  readonly parquetTypes: Array<[string, string]>;
  /** Every row, each value as text (DuckDB's VARCHAR cast), NULL as null, in file order. */
  readonly rows: Array<Array<string | null>>;
  /** The column chunks' codecs. */
  readonly compression: string[];
}

/** bank id (ascending) → paths of the part files under <folder>/<sub>/bank_id=<id>/ whose name matches `pattern`. */
export async function bankParts(folder: string, sub: string, pattern: RegExp): Promise<Map<number, string[]>> {
  const result = new Map<number, string[]>();
  const dir = join(folder, sub);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const banks = entries.flatMap((entry) => {
    const match = /^bank_id=(-?\d+)$/.exec(entry);
    return match ? [{ entry, bankId: Number(match[1]) }] : [];
  });
  for (const { entry, bankId } of banks.sort((a, b) => a.bankId - b.bankId)) {
    const parts = (await readdir(join(dir, entry))).filter((f) => pattern.test(f)).sort();
    if (parts.length > 0) result.set(bankId, parts.map((p) => join(dir, entry, p)));
  }
  return result;
}

export async function readParquetPart(path: string): Promise<ParquetPart> {
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    const file = `'${path.replaceAll("'", "''")}'`;
    // The file's own columns: DuckDB would otherwise add bank_id from the folder name (hive partitioning).
    const source = `read_parquet(${file}, hive_partitioning = false)`;
    const described = (await duck.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`))
      .getRowsJS()
      .map((r) => [String(r[0]), String(r[1])] as [string, string]);
    const schema = (
      await duck.runAndReadAll(
        `SELECT name, type, converted_type, precision, scale FROM parquet_schema(${file}) WHERE num_children IS NULL OR num_children = 0`,
      )
    ).getRowsJS();
    const parquetTypes = schema.map(([name, type, converted, precision, scale]) => {
      let kind = `${String(type)}/${String(converted)}`;
      if (type === 'BYTE_ARRAY' && converted === 'UTF8') kind = 'string';
      else if (type === 'INT64' && (converted === null || converted === 'INT_64')) kind = 'int64';
      else if (converted === 'DECIMAL') kind = `decimal(${String(precision)},${String(scale)})`;
      return [String(name), kind] as [string, string];
    });
    const columns = described.map(([name]) => `CAST("${name}" AS VARCHAR)`).join(', ');
    // File order: no ORDER BY, so the test sees the order the writer left.
    const rows = (await duck.runAndReadAll(`SELECT ${columns} FROM ${source}`))
      .getRowsJS()
      .map((row) => row.map((v) => (v === null ? null : String(v))));
    const compression = (await duck.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata(${file}) ORDER BY 1`))
      .getRowsJS()
      .map((r) => String(r[0]));
    return { described, parquetTypes, rows, compression };
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

/** A staged CSV part's rows (header checked, then dropped), parsed as the publish step parses them. */
export async function readCsvRows(path: string): Promise<string[][]> {
  const [header, ...rows] = parseCsvText(await readFile(path, 'utf8'));
  const expected = ANALYTICS_SCHEMA.map((c) => c.name);
  if (header?.join(',') !== expected.join(',')) throw new Error(`${path}: header ${header?.join(',')}, expected ${expected.join(',')}`);
  return rows;
}

/** Parquet rows as the CSV has them: the CSV writes NULL as an empty field. */
export function asCsvFields(rows: ReadonlyArray<ReadonlyArray<string | null>>): string[][] {
  return rows.map((row) => row.map((v) => v ?? ''));
}
