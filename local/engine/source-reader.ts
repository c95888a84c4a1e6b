/**
 * Reads what the extract needs from the ODS into DuckDB: the dimension tables' needed columns and
 * only the window's loans (the filter runs in PostgreSQL, where the loan_date index serves it).
 * Rows stream through a server-side cursor in batches, so no table is ever held in memory whole.
 */
import { DuckDBDateValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { ClientBase } from 'pg';
import Cursor from 'pg-cursor';
import { SourceSchemaError } from '../../functions/core/errors';
import type { MonthWindow } from '../../functions/core/month';
import type { SourceRowCount } from '../../functions/core/staging-layout';
import { tracePhase } from './engine-trace';
import { SOURCE_MODEL, type SourceModel, type SourceTable, type TypeFamily } from './source-model';

const BATCH_ROWS = 10_000;

const DUCKDB_TYPES: Record<TypeFamily, string> = { integer: 'BIGINT', text: 'VARCHAR', date: 'DATE' };

/** Every value arrives as PostgreSQL's text form, so nothing is lost to JS numbers or Date time zones. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/** Fails with the table and column named if the ODS lacks a table or column the extract reads, or has it with the wrong type. */
export async function checkSourceSchema(pg: ClientBase, model: SourceModel = SOURCE_MODEL): Promise<void> {
  const { rows } = await pg.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = ANY($2)`,
    [model.schema, model.tables.map((t) => t.name)],
  );
  const found = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r.data_type]));
  const problems: string[] = [];
  for (const table of model.tables) {
    if (!rows.some((r) => r.table_name === table.name)) {
      problems.push(`table ${model.schema}.${table.name} does not exist`);
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
 * Copies the source into DuckDB tables of the same names, all from one consistent snapshot
 * (a read-only REPEATABLE READ transaction), and returns the rows read per table.
 */
export async function copySourceIntoDuckDb(
  pg: ClientBase,
  duck: DuckDBConnection,
  window: MonthWindow,
  model: SourceModel = SOURCE_MODEL,
): Promise<SourceRowCount[]> {
  await tracePhase('schema', () => checkSourceSchema(pg, model));
  await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await pg.query('SET LOCAL DateStyle = ISO, YMD');
    const counts: SourceRowCount[] = [];
    for (const table of model.tables) {
      const rows = await tracePhase(`read:${table.name}`, () => copyTable(pg, duck, table, window, model.schema), (n) => n);
      counts.push({ table: table.name, row_count: rows });
    }
    await pg.query('COMMIT');
    return counts;
  } catch (error) {
    await pg.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function copyTable(pg: ClientBase, duck: DuckDBConnection, table: SourceTable, window: MonthWindow, schema: string): Promise<number> {
  const columnList = table.columns.map(([name]) => quoteIdent(name)).join(', ');
  await duck.run(`CREATE OR REPLACE TABLE ${quoteIdent(table.name)} (${table.columns.map(([name, family]) => `${quoteIdent(name)} ${DUCKDB_TYPES[family]}`).join(', ')})`);

  let sql = `SELECT ${columnList} FROM ${quoteIdent(schema)}.${quoteIdent(table.name)}`;
  const params: string[] = [];
  if (table.windowColumn) {
    const column = quoteIdent(table.windowColumn);
    sql += ` WHERE (${column} >= $1 AND ${column} < $2) OR ${column} IS NULL`;
    params.push(window.windowStart, window.windowEnd);
  }

  const cursor = pg.query(new Cursor<unknown[]>(sql, params, { rowMode: 'array', types: RAW_TEXT }));
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

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
