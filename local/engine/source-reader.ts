/**
 * Reads what an extract needs from the ODS into DuckDB, as its source model says: only what the month
 * references (contract section 3). With a window read (the loan extract's read_window.sql): the
 * window's loans with the accounts and clients they reference through one query pushed down to
 * PostgreSQL, where the loan_date index and the joins find them, so client and account rows no loan
 * of the window references never travel; the other tables (bank, branch) whole. Without one, every
 * table whole. Rows stream (COPY to a scratch file, or a cursor in batches), so no table is ever held
 * in memory whole.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBDateValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { ClientBase } from 'pg';
import Cursor from 'pg-cursor';
import { SourceSchemaError } from '../../functions/core/errors';
import type { MonthWindow } from '../../functions/core/month';
import type { SourceRowCount } from '../../functions/core/staging-layout';
import { tracePhase } from './engine-trace';
import { extractWindowSql } from './extract-sql';
import { copyOutToFile } from './pg-copy-out';
import type { SourceModel, SourceTable, TypeFamily } from './source-model';

const BATCH_ROWS = 10_000;

/**
 * Set for the read transaction. Dates in ISO form. No parallel workers: each table arrives through one
 * COPY stream formatted by one backend, so workers only add start-up and contend for the CPU; the
 * planner picks them for the loans window once the table is large (20M loans), which made a longer
 * history cost time (bench/README.md). An extract's SQL files name the ODS tables unqualified: the
 * model's schema is the only one searched.
 */
export function readTransactionSettings(model: SourceModel): string[] {
  return ['DateStyle = ISO, YMD', 'max_parallel_workers_per_gather = 0', `search_path = ${quoteIdent(model.schema)}`];
}

/** The DuckDB table the window read is loaded into, and dropped from once its tables are rebuilt. */
const WINDOW_READ_TABLE = 'window_read';

const DUCKDB_TYPES: Record<TypeFamily, string> = { integer: 'BIGINT', text: 'VARCHAR', date: 'DATE' };

/** Every value arrives as PostgreSQL's text form, so nothing is lost to JS numbers or Date time zones. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/** Fails with the table and column named if the ODS lacks a table or column the extract reads, or has it with the wrong type. */
export async function checkSourceSchema(pg: ClientBase, model: SourceModel): Promise<void> {
  const { rows } = await pg.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = ANY($2)`,
    [model.schema, model.tables.map((t) => t.name)],
  );
  const found = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r.data_type]));
  const unseen = model.tables.filter((table) => !rows.some((r) => r.table_name === table.name)).map((table) => table.name);
  const unreadable = await tablesWithoutSelect(pg, model.schema, unseen);
  const problems: string[] = [];
  for (const table of model.tables) {
    if (unseen.includes(table.name)) {
      const user = unreadable.get(table.name);
      problems.push(
        user === undefined ? `table ${model.schema}.${table.name} does not exist` : `no SELECT privilege on ${model.schema}.${table.name} for user ${user}`,
      );
      continue;
    }
    for (const [column, family] of table.columns) {
      const type = found.get(`${table.name}.${column}`);
      const accepted = model.typeFamilies[family];
      if (type === undefined) {
        problems.push(`column ${model.schema}.${table.name}.${column} does not exist`);
      } else if (!accepted.includes(type)) {
        problems.push(`column ${model.schema}.${table.name}.${column} is ${type}; the extract needs ${family} (${accepted.join(', ')})`);
      }
    }
  }
  if (problems.length > 0) {
    throw new SourceSchemaError(`the ODS does not match the extract's source model: ${problems.join('; ')}`);
  }
}

/**
 * Of `tables` (which information_schema did not show), those that do exist but the connected user
 * may not read, each with that user's name: information_schema lists only the tables a user holds
 * some privilege on, so a missing grant would otherwise read as a missing table. The catalog
 * (pg_class) lists every table, whatever the user may read.
 */
async function tablesWithoutSelect(pg: ClientBase, schema: string, tables: readonly string[]): Promise<Map<string, string>> {
  if (tables.length === 0) return new Map();
  const { rows } = await pg.query<{ table_name: string; user_name: string }>(
    `SELECT c.relname AS table_name, current_user AS user_name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND NOT has_table_privilege(c.oid, 'SELECT')`,
    [schema, tables],
  );
  return new Map(rows.map((r) => [r.table_name, r.user_name]));
}

/**
 * Copies the source into DuckDB tables of the same names, all from one consistent snapshot
 * (a read-only REPEATABLE READ transaction), and returns the rows read per table.
 *
 * Three ways in:
 * - The window read (the loan extract's read_window.sql: the window's loans, each with the account and
 *   client it references, nearly all the rows): `COPY (…) TO STDOUT` streamed to a scratch file, loaded
 *   by DuckDB's CSV reader with the column types given, then split into loans, account and client (the
 *   referenced rows, once each) as the definition's source says. PostgreSQL and DuckDB do the per-row
 *   work in C++; this process only moves buffers.
 * - Other tables of integer and date columns only (a model without a window read: every table whole):
 *   `COPY table (columns)` the same way. Each file loads while PostgreSQL sends the next table.
 * - Any text column (bank, branch: a few hundred rows): a cursor, every value as PostgreSQL's text,
 *   appended as is, so names and addresses arrive byte for byte whatever they hold.
 */
export async function copySourceIntoDuckDb(
  pg: ClientBase,
  duck: DuckDBConnection,
  window: MonthWindow,
  model: SourceModel,
): Promise<SourceRowCount[]> {
  await tracePhase('schema', () => checkSourceSchema(pg, model));
  const scratch = await mkdtemp(join(tmpdir(), 'extract-source-'));
  // DuckDB loads one file at a time, on this chain, and the appender waits for it: one connection.
  let loads: Promise<void> = Promise.resolve();
  const load = (step: () => Promise<void>): void => {
    loads = loads.then(step);
    loads.catch(() => undefined); // awaited below; marked handled so a failure cannot end the process first
  };
  try {
    await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      for (const setting of readTransactionSettings(model)) await pg.query(`SET LOCAL ${setting}`);
      const counts = new Map<string, number>();
      const windowRead = model.windowRead;
      for (const table of model.tables) {
        if (windowRead && readThroughWindow(table)) continue;
        let rows: number;
        if (table.columns.every(([, family]) => family !== 'text')) {
          const file = join(scratch, `${table.name}.tsv`);
          const copy = `COPY ${quoteIdent(model.schema)}.${quoteIdent(table.name)} (${table.columns.map(([name]) => quoteIdent(name)).join(', ')}) TO STDOUT`;
          rows = await tracePhase(`read:${table.name}`, () => copyOutToFile(pg, copy, file), (n) => n);
          const copied = rows;
          load(() => tracePhase(`load:${table.name}`, () => loadCopyFile(duck, table.name, table.columns, file, copied)));
        } else {
          await loads;
          rows = await tracePhase(`read:${table.name}`, () => appendByCursor(pg, duck, table, tableReadSql(table, model.schema)), (n) => n);
        }
        counts.set(table.name, rows);
      }
      if (windowRead) {
        const file = join(scratch, `${WINDOW_READ_TABLE}.tsv`);
        const rows = await tracePhase('read:window', () => copyOutToFile(pg, `COPY (${windowReadSql(window, model)}) TO STDOUT`, file), (n) => n);
        load(() =>
          tracePhase('load:window', async () => {
            await loadCopyFile(duck, WINDOW_READ_TABLE, windowRead.columns, file, rows);
            for (const table of model.tables.filter(readThroughWindow)) counts.set(table.name, await rebuildFromWindowRead(duck, table));
            await duck.run(`DROP TABLE ${quoteIdent(WINDOW_READ_TABLE)}`);
          }),
        );
      }
      await pg.query('COMMIT');
      await loads;
      return model.tables.map((table) => ({ table: table.name, row_count: counts.get(table.name)! }));
    } catch (error) {
      await pg.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await loads.catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}

function readThroughWindow(table: SourceTable): boolean {
  return table.windowColumn !== undefined || table.keyInRead !== undefined;
}

/**
 * The window read as PostgreSQL runs it: the definition's source.windowRead.sql over the month's
 * extract_window. The dates are validated ISO strings from monthWindow(), so inlining them is safe
 * (COPY takes no parameters). The benchmark EXPLAINs it.
 */
export function windowReadSql(window: MonthWindow, model: SourceModel): string {
  if (!model.windowRead) throw new Error('the source model has no window read');
  return `WITH extract_window AS (${extractWindowSql(window)}) SELECT * FROM (${model.windowRead.sql}) AS ${WINDOW_READ_TABLE}`;
}

/**
 * One table of the window read as a DuckDB table of its name (the definition's source says how): the
 * windowed table every row, a referenced table each distinct row whose key was found. Returns its rows.
 */
async function rebuildFromWindowRead(duck: DuckDBConnection, table: SourceTable): Promise<number> {
  const [[key], ...others] = table.columns as [readonly [string, TypeFamily], ...(readonly [string, TypeFamily])[]];
  const select = table.keyInRead
    ? `SELECT DISTINCT ${[`${quoteIdent(table.keyInRead)} AS ${quoteIdent(key)}`, ...others.map(([name]) => quoteIdent(name))].join(', ')}
        FROM ${quoteIdent(WINDOW_READ_TABLE)} WHERE ${quoteIdent(table.keyInRead)} IS NOT NULL`
    : `SELECT ${table.columns.map(([name]) => quoteIdent(name)).join(', ')} FROM ${quoteIdent(WINDOW_READ_TABLE)}`;
  await duck.run(`CREATE OR REPLACE TABLE ${quoteIdent(table.name)} AS ${select}`);
  return Number((await duck.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(table.name)}`)).getRowsJS()[0]![0]);
}

/**
 * Loads a COPY file into a new table of the given types, and checks nothing was lost on the way. The
 * file is PostgreSQL's text format: tab-separated, `\N` for NULL; integers and ISO dates hold no tab,
 * backslash or line break, so no value needs escaping.
 */
async function loadCopyFile(
  duck: DuckDBConnection,
  name: string,
  types: ReadonlyArray<readonly [string, TypeFamily]>,
  file: string,
  expectedRows: number,
): Promise<void> {
  const columns = types.map(([column, family]) => `${sqlString(column)}: ${sqlString(DUCKDB_TYPES[family])}`).join(', ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${quoteIdent(name)} AS SELECT * FROM read_csv(${sqlString(file)}, columns = {${columns}},
      header = false, auto_detect = false, delim = '\t', quote = '', escape = '', nullstr = '\\N')`,
  );
  const loaded = Number((await duck.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(name)}`)).getRowsJS()[0]![0]);
  if (loaded !== expectedRows) {
    throw new Error(`${name}: PostgreSQL sent ${expectedRows} rows but DuckDB loaded ${loaded}`);
  }
}

async function appendByCursor(pg: ClientBase, duck: DuckDBConnection, table: SourceTable, sql: string): Promise<number> {
  await duck.run(`CREATE OR REPLACE TABLE ${quoteIdent(table.name)} (${table.columns.map(([name, family]) => `${quoteIdent(name)} ${DUCKDB_TYPES[family]}`).join(', ')})`);
  const cursor = pg.query(new Cursor<unknown[]>(sql, [], { rowMode: 'array', types: RAW_TEXT }));
  const appender = await duck.createAppender(table.name);
  let total = 0;
  try {
    for (;;) {
      const batch = (await cursor.read(BATCH_ROWS)) as (string | null)[][];
      if (batch.length === 0) break;
      for (const row of batch) appendRow(appender, table, row);
      total += batch.length;
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
    await cursor.close();
  }
  return total;
}

/** The SELECT that reads `table` whole: its model columns only. */
export function tableReadSql(table: SourceTable, schema: string): string {
  return `SELECT ${table.columns.map(([name]) => quoteIdent(name)).join(', ')} FROM ${quoteIdent(schema)}.${quoteIdent(table.name)}`;
}

function appendRow(appender: DuckDBAppender, table: SourceTable, row: readonly (string | null)[]): void {
  table.columns.forEach(([column, family], index) => {
    const value = row[index] ?? null;
    if (value === null) {
      appender.appendNull();
    } else if (family === 'integer') {
      appender.appendBigInt(BigInt(value));
    } else if (family === 'date') {
      appender.appendDate(parseIsoDate(value, `${table.name}.${column}`));
    } else {
      appender.appendVarchar(value);
    }
  });
  appender.endRow();
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseIsoDate(text: string, where: string): DuckDBDateValue {
  const match = ISO_DATE.exec(text);
  if (!match) throw new SourceSchemaError(`${where} holds "${text}", which is not a plain calendar date`);
  return DuckDBDateValue.fromParts({ year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) });
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
