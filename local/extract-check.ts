/**
 * What `npm run extract:check` checks beyond the definition's own rules (parseExtractDefinition and
 * the folder loader have already run): that the extract's SQL runs on its source model and returns
 * the columns the definition declares, and that the source model is in the ODS. A module, not only a
 * command, so packaging or a test can call it.
 *
 * The SQL is bound, never run on data: an in-memory DuckDB holds exactly the source model's tables
 * and columns (empty, typed by family as the local engine types them) and the extract_window relation,
 * and `DESCRIBE <query>` makes DuckDB resolve every table, column and type of the query. A column the
 * source model does not declare is therefore an error even when the ODS has it: the engines read only
 * the model's columns, so such SQL would fail at run time on AWS.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientBase } from 'pg';
import type { ExtractDefinition, OutputType, SourceTypeFamily } from '../functions/core/extract-definition';
import layout from '../glue/extract-layout.json';
import type { ExtractFolder } from '../extracts/folders';
import { withClient } from './postgres';

/** The DuckDB type of each source type family: what the local engine loads the ODS columns as. */
const DUCKDB_TYPES: Readonly<Record<SourceTypeFamily, string>> = { integer: 'BIGINT', text: 'VARCHAR', date: 'DATE' };

/** The DuckDB types a column of each output type may come out of the SQL as. Never a float: money is exact. */
const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/;
const OUTPUT_DUCKDB_TYPES: Readonly<Record<OutputType, RegExp>> = {
  text: /^VARCHAR$/,
  integer: INTEGER_TYPES,
  count: INTEGER_TYPES,
  decimal2: /^DECIMAL\(\d+,2\)$/,
  month: /^VARCHAR$/,
  date: /^DATE$/,
};
const TYPE_WORDS: Readonly<Record<OutputType, string>> = {
  text: 'a text (VARCHAR)',
  integer: 'an integer type',
  count: 'an integer type',
  decimal2: 'DECIMAL(p, 2)',
  month: "a text (VARCHAR) 'YYYY-MM'",
  date: 'a DATE',
};

/** One column of the ODS as information_schema.columns lists it. */
export interface OdsColumn {
  readonly table_name: string;
  readonly column_name: string;
  readonly data_type: string;
}

/** Where the source model is checked against: a PostgreSQL server, or the sample ODS's schema. */
export type OdsSchemaSource = { readonly url: string } | 'sample';

/** The columns of `schema` in the ODS at `url` (information_schema: what the connected user can see). */
export async function readOdsColumns(client: ClientBase, schema: string): Promise<OdsColumn[]> {
  const { rows } = await client.query<OdsColumn>(
    'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1',
    [schema],
  );
  return rows;
}

/**
 * The columns of the sample ODS's schema (local/sample/ods-schema.sql, what `npm start` runs on),
 * from an embedded PostgreSQL (PGlite) in this process: the types are PostgreSQL's own, not parsed
 * from the DDL here.
 */
export async function sampleOdsColumns(schema: string): Promise<OdsColumn[]> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  try {
    await db.exec(readFileSync(join(__dirname, 'sample', 'ods-schema.sql'), 'utf8'));
    const { rows } = await db.query<OdsColumn>(
      'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1',
      [schema],
    );
    return rows;
  } finally {
    await db.close();
  }
}

/** Each problem of the source model against the ODS columns, naming the definition's field. */
export function sourceModelProblems(definition: ExtractDefinition, odsColumns: readonly OdsColumn[], where: string): string[] {
  const problems: string[] = [];
  const families: Readonly<Record<string, readonly string[]>> = layout.sourceTypeFamilies;
  for (const [table, model] of Object.entries(definition.source.tables)) {
    const columns = new Map(odsColumns.filter((c) => c.table_name === table).map((c) => [c.column_name, c.data_type]));
    if (columns.size === 0) {
      problems.push(`source.tables.${table}: ${definition.source.schema}.${table} is not a table of ${where}`);
      continue;
    }
    for (const [column, family] of Object.entries(model.columns)) {
      const type = columns.get(column);
      const accepted = families[family] ?? [];
      if (type === undefined) {
        problems.push(`source.tables.${table}.columns.${column}: ${definition.source.schema}.${table} has no column ${column} in ${where} (it has ${[...columns.keys()].join(', ')})`);
      } else if (!accepted.includes(type)) {
        problems.push(`source.tables.${table}.columns.${column}: is ${type} in ${where}; ${family} is one of ${accepted.join(', ')}`);
      }
    }
  }
  return problems;
}

/** One SQL file of an extract, as the check runs it, with the columns it must return. */
interface SqlCheck {
  readonly field: string;
  readonly file: string;
  readonly sql: string;
  /** Column names in order, each with the output type it must fit (undefined: any type but a float). */
  readonly columns: ReadonlyArray<readonly [string, OutputType | undefined]>;
  /** Says where the expected columns come from, for the message. */
  readonly declaredBy: string;
}

function sqlChecks(folder: ExtractFolder): SqlCheck[] {
  const { definition, sql } = folder;
  const output = definition.output;
  const checks: SqlCheck[] = [
    {
      field: 'sql.rows',
      file: definition.sql.rows,
      sql: sql.rows,
      columns: [[output.splitBy.idColumn, 'integer'], ...output.columns.map((c) => [c.name, c.type] as const)],
      declaredBy: 'output.splitBy.idColumn, then output.columns in order',
    },
    {
      field: 'sql.entities',
      file: definition.sql.entities,
      sql: sql.entities,
      columns: [['id', 'integer'], ['name', 'text']],
      declaredBy: 'every entities query returns (id, name)',
    },
  ];
  if (definition.sql.rejected !== undefined && sql.rejected !== undefined) {
    checks.push({
      field: 'sql.rejected',
      file: definition.sql.rejected,
      sql: sql.rejected,
      columns: [['reason', 'text'], ['row_count', 'count']],
      declaredBy: 'every rejected query returns (reason, row_count)',
    });
  }
  if (definition.source.windowRead && sql.windowRead !== undefined) {
    const familyType: Readonly<Record<SourceTypeFamily, OutputType>> = { integer: 'integer', text: 'text', date: 'date' };
    checks.push({
      field: 'source.windowRead.sql',
      file: definition.source.windowRead.sql,
      sql: sql.windowRead,
      columns: Object.entries(definition.source.windowRead.columns).map(([name, family]) => [name, familyType[family]] as const),
      declaredBy: 'source.windowRead.columns',
    });
  }
  return checks;
}

/**
 * An empty DuckDB with exactly the source model's tables and columns, extract_window (the relation
 * every engine builds from the month: same names and types) and div() (the integer division the SQL
 * may use: built into Spark and PostgreSQL; the local engine defines it for DuckDB the same way).
 * The tests fill it to run an extract's SQL on DuckDB.
 */
export async function sourceModelDuckDb(definition: ExtractDefinition): Promise<{ duck: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const close = () => {
    duck.closeSync();
    instance.closeSync();
  };
  try {
    await duck.run('CREATE MACRO div(a, b) AS a // b');
    await duck.run('CREATE TABLE extract_window (month VARCHAR(7), window_start DATE, month_start DATE, window_end DATE)');
    for (const [table, model] of Object.entries(definition.source.tables)) {
      const columns = Object.entries(model.columns).map(([name, family]) => `"${name}" ${DUCKDB_TYPES[family]}`);
      await duck.run(`CREATE TABLE "${table}" (${columns.join(', ')})`);
    }
    return { duck, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** DuckDB's binder message made to say which name is unknown and where; its first line only. */
function bindProblem(check: SqlCheck, message: string): string {
  const first = message.split('\n')[0]!;
  const line = /LINE (\d+):/.exec(message)?.[1];
  const at = `${check.field} (${check.file}${line ? `, line ${line}` : ''})`;
  const column = /Referenced column "([^"]+)" not found/.exec(first) ?? /does not have a column named "([^"]+)"/.exec(first);
  if (column) return `${at}: column ${column[1]} is not in the source model (source.tables): ${first}`;
  const table = /Table with name ([^\s!]+) does not exist/.exec(first);
  if (table) return `${at}: table ${table[1]} is not in the source model (source.tables) nor extract_window: ${first}`;
  return `${at}: ${first}`;
}

/** Each problem of the extract's SQL against its source model and declared columns, naming the field and file. */
export async function sqlProblems(folder: ExtractFolder): Promise<string[]> {
  const problems: string[] = [];
  const { duck, close } = await sourceModelDuckDb(folder.definition);
  try {
    for (const check of sqlChecks(folder)) {
      let described: { name: string; type: string }[];
      try {
        // DESCRIBE on a line of its own: DuckDB's LINE n is then the file's line n - 1 (lineShifted).
        const result = await duck.runAndReadAll(`DESCRIBE\n${check.sql}`);
        described = result.getRowObjects().map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
      } catch (error) {
        problems.push(bindProblem(check, lineShifted((error as Error).message)));
        continue;
      }
      problems.push(...columnProblems(check, described));
    }
  } finally {
    close();
  }
  return problems;
}

/** DuckDB counts DESCRIBE's own line: line n of its message is line n - 1 of the file. */
function lineShifted(message: string): string {
  return message.replace(/LINE (\d+):/, (_, n: string) => `LINE ${Number(n) - 1}:`);
}

function columnProblems(check: SqlCheck, described: readonly { name: string; type: string }[]): string[] {
  const at = `${check.field} (${check.file})`;
  const got = described.map((c) => c.name);
  const want = check.columns.map(([name]) => name);
  if (got.join(',') !== want.join(',')) {
    const missing = want.filter((c) => !got.includes(c));
    const extra = got.filter((c) => !want.includes(c));
    const differences = [
      ...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`not declared ${extra.join(', ')}`] : []),
      ...(missing.length === 0 && extra.length === 0 ? ['same columns in another order'] : []),
    ];
    return [`${at}: returns (${got.join(', ')}); ${check.declaredBy} say (${want.join(', ')}): ${differences.join('; ')}`];
  }
  const problems: string[] = [];
  check.columns.forEach(([name, type], i) => {
    const actual = described[i]!.type;
    if (/^(FLOAT|DOUBLE|REAL)$/.test(actual)) {
      problems.push(`${at}: column ${name} is ${actual}, a floating-point type; keep to integers and DECIMAL (money is never floating point)`);
    } else if (type !== undefined && !OUTPUT_DUCKDB_TYPES[type].test(actual)) {
      problems.push(`${at}: column ${name} is ${actual}; as ${type} it must be ${TYPE_WORDS[type]} (CAST it in the SQL)`);
    }
  });
  return problems;
}

/** Everything the command checks for one extract: its SQL, and its source model against the ODS columns given. */
export async function extractProblems(folder: ExtractFolder, ods: { readonly columns: readonly OdsColumn[]; readonly where: string }): Promise<string[]> {
  return [...sourceModelProblems(folder.definition, ods.columns, ods.where), ...(await sqlProblems(folder))];
}

/** The ODS columns of each schema the extracts read, from a server or the sample schema. */
export async function odsColumnsBySchema(source: OdsSchemaSource, schemas: readonly string[]): Promise<Map<string, OdsColumn[]>> {
  const bySchema = new Map<string, OdsColumn[]>();
  if (source === 'sample') {
    for (const schema of new Set(schemas)) bySchema.set(schema, await sampleOdsColumns(schema));
    return bySchema;
  }
  await withClient(source.url, async (client) => {
    for (const schema of new Set(schemas)) bySchema.set(schema, await readOdsColumns(client, schema));
  });
  return bySchema;
}
