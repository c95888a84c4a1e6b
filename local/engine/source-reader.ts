/**
 * Reads what an extract needs from the ODS into DuckDB, as its source model says: only what the month
 * references (contract section 3). With a window read (the loan extract's read_window.sql): the
 * window's loans with the accounts and clients they reference through one query pushed down to
 * PostgreSQL, where the loan_date index and the joins find them, so client and account rows no loan
 * of the window references never travel; the other tables (bank, branch) whole. Without one, every
 * table whole. Rows stream (COPY through a named pipe that DuckDB reads as they arrive, or a cursor in
 * batches), so no table is ever held in memory whole, and none is written to disk.
 */
import { execFile } from 'node:child_process';
import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
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
import { copyOut } from './pg-copy-out';
import type { SourceModel, SourceTable, TypeFamily } from './source-model';

const BATCH_ROWS = 10_000;

/**
 * Set for the read transaction. Dates in ISO form. An extract's SQL files name the ODS tables
 * unqualified: the model's schema is the only one searched. Parallel query is left to the server's
 * own settings (its DBA's `max_parallel_workers_per_gather`; 2 by default), as for the Glue job: the
 * window read's two hash joins then run in parallel workers, 1.5 s instead of 2.3 s at 10M loans on
 * 2 idle cores (docs/decisions.md). No JIT: the window read's plan passes its cost threshold, and
 * compiling its expressions (63 functions at 10M) costs more than it saves in a read of a second or
 * two. A whole-table `COPY table` is never planned, so neither applies to it.
 */
export function readTransactionSettings(model: SourceModel): string[] {
  return ['DateStyle = ISO, YMD', 'jit = off', `search_path = ${quoteIdent(model.schema)}`];
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
 *   client it references, nearly all the rows): `COPY (…) TO STDOUT` into DuckDB through a named
 *   pipe (copyIntoDuckDb), then split into loans, account and client (the referenced rows, once each)
 *   as the definition's source says.
 * - Other tables of integer and date columns only (a model without a window read: every table whole):
 *   `COPY table (columns) TO STDOUT` the same way.
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
  const pipes = await mkdtemp(join(tmpdir(), 'extract-source-'));
  try {
    await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      for (const setting of readTransactionSettings(model)) await pg.query(`SET LOCAL ${setting}`);
      const counts = new Map<string, number>();
      const windowRead = model.windowRead;
      for (const table of model.tables) {
        if (windowRead && readThroughWindow(table)) continue;
        const rows = table.columns.every(([, family]) => family !== 'text')
          ? await tracePhase(
              `read:${table.name}`,
              () =>
                copyIntoDuckDb(pg, duck, {
                  copySql: `COPY ${quoteIdent(model.schema)}.${quoteIdent(table.name)} (${table.columns.map(([name]) => quoteIdent(name)).join(', ')}) TO STDOUT`,
                  table: table.name,
                  columns: table.columns,
                  pipe: join(pipes, `${table.name}.pipe`),
                }),
              (n) => n,
            )
          : await tracePhase(`read:${table.name}`, () => appendByCursor(pg, duck, table, tableReadSql(table, model.schema)), (n) => n);
        counts.set(table.name, rows);
      }
      if (windowRead) {
        await tracePhase(
          'read:window',
          () =>
            copyIntoDuckDb(pg, duck, {
              copySql: `COPY (${windowReadSql(window, model)}) TO STDOUT`,
              table: WINDOW_READ_TABLE,
              columns: windowRead.columns,
              pipe: join(pipes, `${WINDOW_READ_TABLE}.pipe`),
            }),
          (n) => n,
        );
        await tracePhase('rebuild:window', async () => {
          for (const table of model.tables.filter(readThroughWindow)) counts.set(table.name, await rebuildFromWindowRead(duck, table));
          await duck.run(`DROP TABLE ${quoteIdent(WINDOW_READ_TABLE)}`);
        });
      }
      await pg.query('COMMIT');
      return model.tables.map((table) => ({ table: table.name, row_count: counts.get(table.name)! }));
    } catch (error) {
      await pg.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await rm(pipes, { recursive: true, force: true });
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

/** One COPY into one DuckDB table (copyIntoDuckDb). */
interface CopyIntoDuckDb {
  /** A `COPY … TO STDOUT` statement in PostgreSQL's text format. */
  readonly copySql: string;
  /** The DuckDB table to create, with these columns and types. */
  readonly table: string;
  readonly columns: ReadonlyArray<readonly [string, TypeFamily]>;
  /** Where to make the named pipe (a folder of this process's own). */
  readonly pipe: string;
}

/**
 * Runs a COPY into a new DuckDB table through a named pipe: DuckDB's CSV reader, given the columns'
 * types, loads the rows while PostgreSQL is still sending them, so loading costs no time of its own
 * and nothing is written to disk (bench/README.md). PostgreSQL and DuckDB do the per-row work in
 * C/C++; this process only moves buffers. Resolves to the row count, checked on both sides.
 *
 * PostgreSQL's text format is tab-separated with `\N` for NULL; integers and ISO dates hold no tab,
 * backslash or line break, so no value needs escaping. Either side failing fails the read with its
 * own error, and neither is left waiting: a failed COPY ends the pipe (DuckDB sees the end of the
 * data), and a failed load breaks it (the writer gets EPIPE, and is released if it was still waiting
 * for DuckDB to open the pipe).
 */
async function copyIntoDuckDb(pg: ClientBase, duck: DuckDBConnection, read: CopyIntoDuckDb): Promise<number> {
  await mkfifo(read.pipe);
  const out = createWriteStream(read.pipe);
  const columns = read.columns.map(([column, family]) => `${sqlString(column)}: ${sqlString(DUCKDB_TYPES[family])}`).join(', ');
  const loading = (async () => {
    await duck.run(
      `CREATE OR REPLACE TABLE ${quoteIdent(read.table)} AS SELECT * FROM read_csv(${sqlString(read.pipe)}, columns = {${columns}},
        header = false, auto_detect = false, delim = '\t', quote = '', escape = '', nullstr = '\\N')`,
    );
    return Number((await duck.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(read.table)}`)).getRowsJS()[0]![0]);
  })();
  loading.catch(() => releaseWriter(read.pipe, out).catch(() => undefined));
  const [copied, loaded] = await Promise.allSettled([copyOut(pg, read.copySql, out), loading]);
  if (loaded.status === 'rejected' && (copied.status === 'fulfilled' || isBrokenPipe(copied.reason))) throw loaded.reason;
  if (copied.status === 'rejected') throw copied.reason;
  if (loaded.status === 'rejected') throw loaded.reason;
  if (loaded.value !== copied.value) {
    throw new Error(`${read.table}: PostgreSQL sent ${copied.value} rows but DuckDB loaded ${loaded.value}`);
  }
  return copied.value;
}

async function mkfifo(path: string): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile('mkfifo', ['-m', '600', path], (error) =>
      error ? reject(new Error(`could not make the named pipe ${path} with mkfifo (the local engine needs Linux or macOS): ${error.message}`)) : resolve(),
    ),
  );
}

/**
 * After a failed load: a writer still waiting in open() for a reader (DuckDB failed before opening the
 * pipe) is let through by opening and closing the read end, until it is open or gone; its first
 * write then fails with EPIPE.
 */
async function releaseWriter(pipe: string, out: WriteStream): Promise<void> {
  while (out.pending && !out.closed) {
    const handle = await open(pipe, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
    if (!handle) return;
    await handle.close();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function isBrokenPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
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
