/**
 * The second extract's numbers (test/fixtures/extracts/client-activity/), checked against values
 * computed BY HAND from a small hand-built ODS (test/fixtures/client-activity-ods.sql, whose comments
 * hold the arithmetic), like the loan extract's oracle test. Its SQL is run as is by PostgreSQL
 * (PGlite, and the real server when there is one) and by DuckDB, with the relations every engine gives
 * it: the source model's tables by name and extract_window. Spark runs the same file on AWS
 * (test/integration/spark-engine.test.ts covers that engine).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ClientBase } from 'pg';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { loadExtractFolder, type ExtractFolder } from '../../extracts/folders';
import { sourceModelDuckDb } from '../../local/extract-check';
import { withClient } from '../../local/postgres';
import { createOdsSchema } from '../../local/sample/generate';
import { testDatabases, type TestDatabase } from '../support/databases';

const FIXTURE = join(__dirname, '..', 'fixtures', 'extracts', 'client-activity');
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

interface ExtractWindowRow {
  readonly month: string;
  readonly window_start: string;
  readonly month_start: string;
  readonly window_end: string;
}

/** Row = branch_id, client_id, month, loan_count, loan_amount, first_loan_date, all as the engines write them. */
type Row = readonly string[];

/** By hand, from the fixture's comments (month A and month B there). */
const MONTHS: readonly { window: ExtractWindowRow; rows: readonly Row[] }[] = [
  {
    window: { month: '2024-02', window_start: '2023-12-01', month_start: '2024-02-01', window_end: '2024-03-01' },
    rows: [
      ['2', '20', '2024-02', '1', '3001', '2024-02-07'],
      ['2', '21', '2024-02', '1', '700', '2024-02-20'],
      ['10', '9', '2024-02', '2', '50', '2024-02-28'],
      ['10', '10', '2024-02', '1', '0', '2024-02-10'],
      ['10', '101', '2024-02', '3', '7000', '2024-02-01'],
      ['30', '300', '2024-02', '1', '250', '2024-02-14'],
      ['40', '400', '2024-02', '3', '6147483647', '2024-02-05'],
      ['40', '401', '2024-02', '2', '-200', '2024-02-05'],
    ],
  },
  {
    window: { month: '2024-03', window_start: '2024-01-01', month_start: '2024-03-01', window_end: '2024-04-01' },
    rows: [
      ['10', '13', '2024-03', '1', '6', '2024-03-01'],
      ['10', '101', '2024-03', '1', '8000', '2024-03-01'],
    ],
  },
];

/** Every branch, a file each month: (id, name), the NULL address as ''. */
const BRANCHES: readonly Row[] = [
  ['2', 'Shop 5, "The Grove", Pretoria'],
  ['10', '1 Main Road, Sandton'],
  ['11', ''],
  ['30', '30 Loop Street'],
  ['40', '40 Church Street'],
];

const COLUMNS = ['branch_id', 'client_id', 'month', 'loan_count', 'loan_amount', 'first_loan_date'];

let folder: ExtractFolder;

beforeAll(() => {
  folder = loadExtractFolder(FIXTURE);
});

it('the hand-written windows are the month logic’s', () => {
  for (const { window } of MONTHS) {
    const w = monthWindow(parseMonth(window.month));
    expect({ month: w.month, window_start: w.windowStart, month_start: w.monthStart, window_end: w.windowEnd }).toEqual(window);
  }
});

it('the rows query returns the split id, then the declared output columns', () => {
  const d = folder.definition;
  expect([d.output.splitBy.idColumn, ...d.output.columns.map((c) => c.name)]).toEqual(COLUMNS);
});

describe.each(testDatabases())('client-activity on %s and on DuckDB', (_label, createDatabase) => {
  let database: TestDatabase;
  let duck: DuckDBConnection;
  let closeDuck: () => void;

  beforeAll(async () => {
    database = await createDatabase();
    await withClient(database.url, async (client) => {
      await createOdsSchema(client);
      await client.query(await readFile(join(__dirname, '..', 'fixtures', 'client-activity-ods.sql'), 'utf8'));
    });
    ({ duck, close: closeDuck } = await sourceModelDuckDb(folder.definition));
    await withClient(database.url, (client) => copySourceModel(client, duck, folder));
  });

  afterAll(async () => {
    closeDuck?.();
    await database?.drop();
  });

  it.each(MONTHS.map((m) => [m.window.month, m] as const))('%s: PostgreSQL gives the rows computed by hand', async (_month, expected) => {
    const result = await withClient(database.url, (client) => runInPostgres(client, expected.window, folder.sql.rows));
    expect(result.columns).toEqual(COLUMNS);
    expect(result.rows).toEqual(expected.rows);
  });

  it.each(MONTHS.map((m) => [m.window.month, m] as const))('%s: DuckDB gives the rows computed by hand', async (_month, expected) => {
    const result = await runInDuckDb(duck, expected.window, folder.sql.rows);
    expect(result.columns).toEqual(COLUMNS);
    expect(result.rows).toEqual(expected.rows);
  });

  it('both list every branch as an entity, in id order', async () => {
    const window = MONTHS[0]!.window;
    const fromPostgres = await withClient(database.url, (client) => runInPostgres(client, window, folder.sql.entities));
    const fromDuckDb = await runInDuckDb(duck, window, folder.sql.entities);
    for (const result of [fromPostgres, fromDuckDb]) {
      expect(result.columns).toEqual(['id', 'name']);
      expect(result.rows).toEqual(BRANCHES);
    }
  });
});

/** The SQL in one transaction with extract_window as a temporary table, every value as PostgreSQL's text. */
async function runInPostgres(client: ClientBase, window: ExtractWindowRow, sql: string): Promise<{ columns: string[]; rows: Row[] }> {
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL DateStyle = ISO, YMD');
    await client.query(
      'CREATE TEMP TABLE extract_window (month VARCHAR(7), window_start DATE, month_start DATE, window_end DATE) ON COMMIT DROP',
    );
    await client.query('INSERT INTO extract_window VALUES ($1, $2, $3, $4)', [window.month, window.window_start, window.month_start, window.window_end]);
    const result = await client.query({ text: sql, rowMode: 'array', types: RAW_TEXT });
    return { columns: result.fields.map((f) => f.name), rows: result.rows as Row[] };
  } finally {
    await client.query('COMMIT');
  }
}

/** The SQL on the DuckDB copy of the source model. */
async function runInDuckDb(duck: DuckDBConnection, window: ExtractWindowRow, sql: string): Promise<{ columns: string[]; rows: Row[] }> {
  await duck.run('DELETE FROM extract_window');
  await duck.run('INSERT INTO extract_window VALUES ($1, CAST($2 AS DATE), CAST($3 AS DATE), CAST($4 AS DATE))', [
    window.month,
    window.window_start,
    window.month_start,
    window.window_end,
  ]);
  // The query as it stands, so its own ORDER BY is what is checked; each value in DuckDB's text form.
  const result = await duck.runAndReadAll(sql);
  return { columns: result.columnNames(), rows: result.getRows().map((r) => r.map((v) => (v === null ? '' : String(v)))) };
}

/** The source model's columns of every table, copied from PostgreSQL into the DuckDB tables of the same names. */
async function copySourceModel(client: ClientBase, duck: DuckDBConnection, extract: ExtractFolder): Promise<void> {
  for (const [table, model] of Object.entries(extract.definition.source.tables)) {
    const columns = Object.keys(model.columns);
    const { rows } = await client.query({ text: `SELECT ${columns.join(', ')} FROM ${table}`, rowMode: 'array', types: RAW_TEXT });
    for (const row of rows as (string | null)[][]) {
      // Text in, cast by the table's column types (BIGINT, VARCHAR, DATE), as the engine loads PostgreSQL's text form.
      await duck.run(`INSERT INTO "${table}" VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, row);
    }
  }
}
