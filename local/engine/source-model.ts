/**
 * The ODS columns an extract reads: its definition's `source` (extracts/<id>/extract.json, which
 * glue/etl.py reads too), with the window read's SQL text and the information_schema types of each
 * type family (glue/extract-layout.json, shared by every extract).
 */
import type { SourceTypeFamily } from '../../functions/core/extract-definition';
import layout from '../../glue/extract-layout.json';
import type { ExtractFolder } from '../../extracts/folders';

export type TypeFamily = SourceTypeFamily;

export interface SourceTable {
  readonly name: string;
  /** Column name → type family, in read order; the first of a keyInRead table is its key. */
  readonly columns: ReadonlyArray<readonly [string, TypeFamily]>;
  /** Only rows with this column in the window (or NULL) are read, through the window read. */
  readonly windowColumn?: string;
  /** Read through the window read: only the rows it references, keyed by this column of the read. */
  readonly keyInRead?: string;
}

/** The one query that reads the windowed table and the tables it references (the definition's `source.windowRead.sql`), run by PostgreSQL. */
export interface WindowRead {
  readonly sql: string;
  /** Its columns, in order, with their type families. */
  readonly columns: ReadonlyArray<readonly [string, TypeFamily]>;
}

export interface SourceModel {
  readonly schema: string;
  readonly tables: readonly SourceTable[];
  /** Absent: every table is read whole. */
  readonly windowRead?: WindowRead;
  /** Type family → accepted information_schema data_type values. */
  readonly typeFamilies: Readonly<Record<TypeFamily, readonly string[]>>;
}

export const SOURCE_TYPE_FAMILIES: Readonly<Record<TypeFamily, readonly string[]>> = layout.sourceTypeFamilies;

/** The source model of an extract, as both engines read it. */
export function sourceModelOf(extract: ExtractFolder): SourceModel {
  const { source } = extract.definition;
  const windowRead = source.windowRead;
  if (windowRead && extract.sql.windowRead === undefined) {
    throw new Error(`extract ${extract.definition.id}: source.windowRead names ${windowRead.sql}, whose text was not loaded`);
  }
  return {
    schema: source.schema,
    tables: Object.entries(source.tables).map(([name, table]) => ({
      name,
      columns: Object.entries(table.columns),
      ...(table.windowColumn !== undefined ? { windowColumn: table.windowColumn } : {}),
      ...(table.keyInRead !== undefined ? { keyInRead: table.keyInRead } : {}),
    })),
    ...(windowRead ? { windowRead: { sql: extract.sql.windowRead!, columns: Object.entries(windowRead.columns) } } : {}),
    typeFamilies: SOURCE_TYPE_FAMILIES,
  };
}
