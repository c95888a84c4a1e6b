/**
 * The engine loads PostgreSQL's COPY into DuckDB through a named pipe while the rows arrive
 * (local/engine/source-reader.ts). When either side fails, the run fails with that side's own error
 * (not the other side's broken pipe or short count), nothing waits forever, and no pipe is left
 * behind: PostgreSQL failing mid-stream, DuckDB refusing a value, and DuckDB failing before it ever
 * opens the pipe (the writer would otherwise wait in open() for a reader, then break the pipe).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { runExtractJob } from '../../local/engine/extract-job';
import { copySourceIntoDuckDb } from '../../local/engine/source-reader';
import { sourceModelOf } from '../../local/engine/source-model';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { withClient } from '../../local/postgres';
import { createOdsSchema } from '../../local/sample/generate';
import { testDatabases, type TestDatabase } from '../support/databases';
import { LOAN_FOLDER } from '../support/engine-extracts';

const WINDOW = monthWindow(parseMonth('2024-03'));
/** Window loans: enough rows (about 4 MB of COPY text) that the pipe has carried several MiB when the last one fails. */
const LOANS = 120_000;
/** The amount of the last loan, which the failing read below divides by zero on. */
const LAST_AMOUNT = 777_777;

const readWindowSql = LOAN_FOLDER.sql.windowRead!;

function withWindowRead(amountExpression: string) {
  const windowRead = readWindowSql.replace('  l.amount,\n', `  ${amountExpression} AS amount,\n`);
  expect(windowRead).not.toBe(readWindowSql);
  return { ...LOAN_FOLDER, sql: { ...LOAN_FOLDER.sql, windowRead } };
}

describe.each(testDatabases())('the engine read through its pipe, on %s, when a side fails', (_label, createDatabase) => {
  let database: TestDatabase;
  let temp: string;
  let staging: string;
  const tmpdirBefore = process.env.TMPDIR;

  beforeAll(async () => {
    database = await createDatabase();
    await withClient(database.url, async (c) => {
      await createOdsSchema(c);
      await c.query(`
        INSERT INTO bank VALUES (1, 'Bank', 0);
        INSERT INTO branch VALUES (10, 1, '1 Main Road');
        INSERT INTO client SELECT i, 'n', 's', 10 FROM generate_series(1, 1000) i;
        INSERT INTO account SELECT i, 0, i, DATE '2020-01-01' FROM generate_series(1, 1000) i;
        INSERT INTO loans SELECT i, 1000 + i % 997, 1 + i % 1000, DATE '2024-01-01' + i % 91 FROM generate_series(1, ${LOANS - 1}) i;
        INSERT INTO loans VALUES (${LOANS}, ${LAST_AMOUNT}, 1, DATE '2024-03-31');`);
    });
  });

  beforeEach(async () => {
    // The engine makes its pipes under os.tmpdir(): a folder of this test's own, to see that none is left.
    temp = await mkdtemp(join(tmpdir(), 'engine-pipe-'));
    staging = join(temp, 'staging');
    process.env.TMPDIR = temp;
  });

  afterEach(async () => {
    if (tmpdirBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdirBefore;
    await rm(temp, { recursive: true, force: true });
  });

  afterAll(async () => {
    await database?.drop();
  });

  const run = (extract: typeof LOAN_FOLDER) =>
    runExtractJob({ extract, sourceUrl: database.url, window: WINDOW, sink: new FolderStagingSink(staging), runId: 'pipe' });

  it('reads every window loan through the pipe when nothing fails (the fixture the failures below break)', async () => {
    const job = await run(LOAN_FOLDER);
    expect(job.sourceRows).toEqual(
      expect.arrayContaining([
        { table: 'loans', row_count: LOANS },
        { table: 'account', row_count: 1000 },
        { table: 'client', row_count: 1000 },
      ]),
    );
    expect(await readdir(temp)).toEqual(['staging']);
  });

  it("PostgreSQL failing after rows have been sent: fails with PostgreSQL's error, staging nothing", async () => {
    const failing = withWindowRead(`l.amount + 0 * (l.amount / (l.amount - ${LAST_AMOUNT}))`);
    await expect(run(failing)).rejects.toThrow(/division by zero/);
    expect(await readdir(temp)).toEqual([]);
  });

  it("DuckDB refusing a value: fails with DuckDB's error, naming the value", async () => {
    const failing = withWindowRead("CASE WHEN l.idloan = 1 THEN 'R777 777' ELSE CAST(l.amount AS text) END");
    const failure = run(failing);
    await expect(failure).rejects.toThrow(/R777 777/);
    await expect(failure).rejects.not.toThrow(/EPIPE/);
    expect(await readdir(temp)).toEqual([]);
  });

  it("DuckDB failing before it opens the pipe: PostgreSQL's side is released, and the run fails with DuckDB's error", async () => {
    const model = sourceModelOf(LOAN_FOLDER);
    const [first] = model.windowRead!.columns;
    // Two columns of one name: DuckDB's binder refuses the read before opening the file.
    const broken = { ...model, windowRead: { ...model.windowRead!, columns: [first!, ...model.windowRead!.columns] } };
    const instance = await DuckDBInstance.create(':memory:');
    const duck = await instance.connect();
    try {
      await expect(withClient(database.url, (pg) => copySourceIntoDuckDb(pg, duck, WINDOW, broken))).rejects.toThrow(/Duplicate/);
    } finally {
      duck.closeSync();
      instance.closeSync();
    }
    expect(await readdir(temp)).toEqual([]);
  });
});
