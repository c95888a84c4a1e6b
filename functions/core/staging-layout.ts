/**
 * What the extract job (Spark on AWS, DuckDB locally) leaves under a run's staging prefix, and so
 * what the publish step reads. glue/etl.py writes the same layout.
 *
 *   rows/bank_id=<idbank>/part-*.csv   header + that bank's rows sorted by branch_id (Spark may also
 *                                      write empty parts, or several parts for one bank)
 *   banks/part-*.json                  every bank in `bank`, JSON lines {"bank_id", "bank_name"}, so
 *                                      banks without branches still get a (header-only) file
 *   rejected/part-*.json               JSON lines {"reason", "loan_count"}
 *   source_rows/part-*.json            JSON lines {"table", "row_count"}: rows read from the ODS
 *   analytics/bank_id=<idbank>/part-*.parquet
 *                                      the same rows as Parquet (branch_id and counts INT64,
 *                                      moving_avg_3m DECIMAL(20,2)), for the analysts' Athena table
 *
 * The folder names live in glue/extract-layout.json, which glue/etl.py reads too.
 */
import layout from '../../glue/extract-layout.json';

export const STAGING_FOLDERS: Readonly<typeof layout.stagingFolders> = layout.stagingFolders;

export interface StagedBank {
  readonly bank_id: number;
  readonly bank_name: string;
}

export interface RejectedCount {
  readonly reason: string;
  readonly loan_count: number;
}

export interface SourceRowCount {
  readonly table: string;
  readonly row_count: number;
}

export function bankRowsFolder(bankId: number): string {
  return `${STAGING_FOLDERS.rows}/bank_id=${bankId}`;
}

export function bankAnalyticsFolder(bankId: number): string {
  return `${STAGING_FOLDERS.analytics}/bank_id=${bankId}`;
}

const ROWS_PART = new RegExp(`^${STAGING_FOLDERS.rows}/bank_id=(-?\\d+)/(part-[^/]+\\.csv)$`);
const ANALYTICS_PART = new RegExp(`^${STAGING_FOLDERS.analytics}/bank_id=(-?\\d+)/(part-[^/]+\\.parquet)$`);

/** For a key relative to the staging prefix: the bank a rows part belongs to, or null if it is no rows part. */
export function parseRowsPartKey(relativeKey: string): { bankId: number; fileName: string } | null {
  return bankPart(ROWS_PART.exec(relativeKey));
}

/** The same for an analytics (Parquet) part. */
export function parseAnalyticsPartKey(relativeKey: string): { bankId: number; fileName: string } | null {
  return bankPart(ANALYTICS_PART.exec(relativeKey));
}

function bankPart(match: RegExpExecArray | null): { bankId: number; fileName: string } | null {
  return match ? { bankId: Number(match[1]), fileName: match[2]! } : null;
}
