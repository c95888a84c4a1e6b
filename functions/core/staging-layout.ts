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

const ROWS_PART = new RegExp(`^${STAGING_FOLDERS.rows}/bank_id=(-?\\d+)/(part-[^/]+\\.csv)$`);

/** For a key relative to the staging prefix: the bank a rows part belongs to, or null if it is no rows part. */
export function parseRowsPartKey(relativeKey: string): { bankId: number; fileName: string } | null {
  const match = ROWS_PART.exec(relativeKey);
  return match ? { bankId: Number(match[1]), fileName: match[2]! } : null;
}
