/** The ODS columns the extract reads, from glue/source-model.json (shared with glue/etl.py). */
import sourceModelJson from '../../glue/source-model.json';

export type TypeFamily = 'integer' | 'text' | 'date';

export interface SourceTable {
  readonly name: string;
  /** Column name → type family, in read order. */
  readonly columns: ReadonlyArray<readonly [string, TypeFamily]>;
  /** Only rows with this column in the window (or NULL) are read. */
  readonly windowColumn?: string;
}

export interface SourceModel {
  readonly schema: string;
  readonly tables: readonly SourceTable[];
  /** Type family → accepted information_schema data_type values. */
  readonly typeFamilies: Readonly<Record<TypeFamily, readonly string[]>>;
}

export const SOURCE_MODEL: SourceModel = {
  schema: sourceModelJson.schema,
  tables: Object.entries(sourceModelJson.tables).map(([name, table]) => ({
    name,
    columns: Object.entries(table.columns) as [string, TypeFamily][],
    ...('windowColumn' in table ? { windowColumn: table.windowColumn } : {}),
  })),
  typeFamilies: sourceModelJson.typeFamilies,
};
