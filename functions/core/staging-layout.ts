/**
 * What the extract job (Spark on AWS, DuckDB locally) leaves under a run's staging prefix, and so
 * what the publish step reads. glue/etl.py writes the same layout. `<id>` is the extract's split
 * entity id (definition `output.splitBy.idColumn`, e.g. `bank_id`), the rows query's first column.
 *
 *   rows/<idColumn>=<id>/part-*.csv    header + that entity's rows sorted by `output.orderBy` (Spark
 *                                      may also write empty parts, or several parts for one entity)
 *   entities/part-*.json               every entity of `sql.entities`, JSON lines {"id", "name"}, so
 *                                      entities without rows still get a (header-only) file
 *   rejected/part-*.json               JSON lines {"reason", "row_count"} (none without `sql.rejected`)
 *   source_rows/part-*.json            JSON lines {"table", "row_count"}: rows read from the ODS
 *   analytics/<idColumn>=<id>/part-*.parquet
 *                                      the same rows as Parquet, only for an extract with
 *                                      `output.keys.analytics`
 *
 * The folder names live in glue/extract-layout.json, which glue/etl.py reads too.
 */
import layout from '../../glue/extract-layout.json';

export const STAGING_FOLDERS: Readonly<typeof layout.stagingFolders> = layout.stagingFolders;

/** One line of entities/: an entity that gets a file this month. */
export interface StagedEntity {
  readonly id: number;
  readonly name: string;
}

export interface RejectedCount {
  readonly reason: string;
  readonly row_count: number;
}

export interface SourceRowCount {
  readonly table: string;
  readonly row_count: number;
}

export function entityRowsFolder(idColumn: string, id: number): string {
  return `${STAGING_FOLDERS.rows}/${idColumn}=${id}`;
}

export function entityAnalyticsFolder(idColumn: string, id: number): string {
  return `${STAGING_FOLDERS.analytics}/${idColumn}=${id}`;
}

export interface EntityPart {
  readonly entityId: number;
  readonly fileName: string;
}

/** For a key relative to the staging prefix: the entity a rows part belongs to, or null if it is no rows part. */
export function parseRowsPartKey(idColumn: string, relativeKey: string): EntityPart | null {
  return entityPart(new RegExp(`^${STAGING_FOLDERS.rows}/${idColumn}=(-?\\d+)/(part-[^/]+\\.csv)$`).exec(relativeKey));
}

/** The same for an analytics (Parquet) part. */
export function parseAnalyticsPartKey(idColumn: string, relativeKey: string): EntityPart | null {
  return entityPart(new RegExp(`^${STAGING_FOLDERS.analytics}/${idColumn}=(-?\\d+)/(part-[^/]+\\.parquet)$`).exec(relativeKey));
}

function entityPart(match: RegExpExecArray | null): EntityPart | null {
  return match ? { entityId: Number(match[1]), fileName: match[2]! } : null;
}
