/** The ODS columns the extract reads, from glue/source-model.json (shared with glue/etl.py). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sourceModelJson from '../../glue/source-model.json';

export type TypeFamily = 'integer' | 'text' | 'date';

export interface SourceTable {
  readonly name: string;
  /** Column name → type family, in read order; the first of a keyInRead table is its key. */
  readonly columns: ReadonlyArray<readonly [string, TypeFamily]>;
  /** Only rows with this column in the window (or NULL) are read, through the window read. */
  readonly windowColumn?: string;
  /** Read through the window read: only the rows it references, keyed by this column of the read. */
  readonly keyInRead?: string;
}

/** The one query that reads the windowed table and the tables it references (glue/sql/<file>), run by PostgreSQL. */
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

const SQL_DIR = join(__dirname, '..', '..', 'glue', 'sql');

/** A glue/sql file as every engine runs it: a trailing semicolon would end a statement the engines wrap. */
export function readGlueSql(fileName: string): string {
  return readFileSync(join(SQL_DIR, fileName), 'utf8').trim().replace(/;$/, '');
}

export const SOURCE_MODEL: SourceModel = {
  schema: sourceModelJson.schema,
  tables: Object.entries(sourceModelJson.tables).map(([name, table]) => ({
    name,
    columns: Object.entries(table.columns) as [string, TypeFamily][],
    ...('windowColumn' in table ? { windowColumn: table.windowColumn } : {}),
    ...('keyInRead' in table ? { keyInRead: table.keyInRead } : {}),
  })),
  windowRead: {
    sql: readGlueSql(sourceModelJson.windowRead.sql),
    columns: Object.entries(sourceModelJson.windowRead.columns) as [string, TypeFamily][],
  },
  typeFamilies: sourceModelJson.typeFamilies,
};
