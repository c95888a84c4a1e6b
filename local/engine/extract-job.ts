/**
 * The local stand-in for the Glue Spark job: the same SQL, run by DuckDB, on only the rows the
 * month's window needs, written in the staging layout glue/etl.py writes on AWS.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { EXTRACT_COLUMNS, EXTRACT_HEADER, csvLine } from '../../functions/core/extract-csv';
import type { MonthWindow } from '../../functions/core/month';
import {
  STAGING_FOLDERS,
  bankAnalyticsFolder,
  bankRowsFolder,
  type RejectedCount,
  type SourceRowCount,
  type StagedBank,
} from '../../functions/core/staging-layout';
import { withClient } from '../postgres';
import { BRANCH_LOANS_SQL, REJECTED_LOANS_SQL, extractWindowSql } from './extract-sql';
import { reportPhase, tracePhase } from './engine-trace';
import { copySourceIntoDuckDb } from './source-reader';
import type { StagingSink } from './staging-sink';

export interface ExtractJobInput {
  /** postgres:// URL of the ODS (embedded or real). */
  readonly sourceUrl: string;
  readonly window: MonthWindow;
  readonly sink: StagingSink;
  /** Names the part files, as Spark's job UUID does. */
  readonly runId: string;
}

export interface StagedPart {
  readonly bankId: number;
  readonly key: string;
  readonly rows: number;
}

export interface ExtractJobResult {
  readonly banks: readonly StagedBank[];
  /** The CSV parts (rows/). */
  readonly parts: readonly StagedPart[];
  /** The Parquet copies of the same rows (analytics/), one per bank with rows. */
  readonly analyticsParts: readonly StagedPart[];
  readonly sourceRows: readonly SourceRowCount[];
  readonly rejected: readonly RejectedCount[];
}

export async function runExtractJob(input: ExtractJobInput): Promise<ExtractJobResult> {
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    // The SQL's integer division: built into Spark and PostgreSQL, DuckDB spells it //.
    await duck.run('CREATE MACRO div(a, b) AS a // b');
    const sourceRows = await withClient(input.sourceUrl, (pg) => copySourceIntoDuckDb(pg, duck, input.window));
    const { rejected, banks } = await tracePhase('compute', async () => {
      await duck.run(`CREATE TABLE extract_window AS ${extractWindowSql(input.window)}`);
      await duck.run(`CREATE TABLE extract_rows AS ${BRANCH_LOANS_SQL}`);
      await assertExtractColumns(duck);
      return {
        rejected: (await readAll(duck, REJECTED_LOANS_SQL)).map((r) => ({ reason: String(r[0]), loan_count: Number(r[1]) })),
        banks: (await readAll(duck, 'SELECT idbank, name FROM bank ORDER BY idbank')).map((r) => ({
          bank_id: Number(r[0]),
          bank_name: r[1] === null ? '' : String(r[1]),
        })),
      };
    });

    const stageStarted = performance.now();
    const parts: StagedPart[] = [];
    const analyticsParts: StagedPart[] = [];
    const partName = `part-00000-${input.runId}.c000.csv`;
    const parquetName = `part-00000-${input.runId}.c000.snappy.parquet`;
    const parquetDir = await mkdtemp(join(tmpdir(), 'extract-parquet-'));
    try {
      for (const bank of banks) {
        const rows = Number((await readAll(duck, `SELECT count(*) FROM extract_rows WHERE bank_id = ${bank.bank_id}`))[0]![0]);
        // Like Spark's partitionBy, a bank without rows gets no part; publishing writes its header-only file.
        if (rows === 0) continue;
        const key = `${bankRowsFolder(bank.bank_id)}/${partName}`;
        await input.sink.putObject(key, bankCsv(duck, bank.bank_id));
        parts.push({ bankId: bank.bank_id, key, rows });
        const analyticsKey = `${bankAnalyticsFolder(bank.bank_id)}/${parquetName}`;
        await stageBankParquet(duck, bank.bank_id, join(parquetDir, `bank_id=${bank.bank_id}.parquet`), input.sink, analyticsKey);
        analyticsParts.push({ bankId: bank.bank_id, key: analyticsKey, rows });
      }
    } finally {
      await rm(parquetDir, { recursive: true, force: true });
    }
    const jsonPart = `part-00000-${input.runId}.json`;
    await input.sink.putObject(`${STAGING_FOLDERS.banks}/${jsonPart}`, jsonLines(banks));
    await input.sink.putObject(`${STAGING_FOLDERS.rejected}/${jsonPart}`, jsonLines(rejected));
    await input.sink.putObject(`${STAGING_FOLDERS.sourceRows}/${jsonPart}`, jsonLines(sourceRows));
    reportPhase({ name: 'stage', ms: performance.now() - stageStarted, rows: parts.reduce((n, p) => n + p.rows, 0) });
    return { banks, parts, analyticsParts, sourceRows, rejected };
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

/** The CSV text of one bank's rows, streamed chunk by chunk from DuckDB. */
export async function* bankCsv(duck: DuckDBConnection, bankId: number): AsyncIterable<string> {
  yield EXTRACT_HEADER;
  const columns = EXTRACT_COLUMNS.map((c) => `CAST(${c} AS VARCHAR)`).join(', ');
  const result = await duck.stream(`SELECT ${columns} FROM extract_rows WHERE bank_id = ${bankId} ORDER BY branch_id`);
  for await (const rows of result.yieldRows()) {
    yield rows.map((row) => csvLine(row.map((v) => (v === null ? null : String(v))))).join('');
  }
}

/**
 * The Parquet types of the analytics copy (glue/etl.py writes the same): the contract's columns in
 * order, without bank_id (it is the folder). Explicit, so the file's schema never follows a change in
 * what DuckDB infers: INT64 ids and counts, DECIMAL(20,2) average, STRING text; NULL stays NULL.
 */
const PARQUET_TYPES: Readonly<Record<string, string>> = {
  bank_name: 'VARCHAR',
  branch_id: 'BIGINT',
  branch_address: 'VARCHAR',
  month: 'VARCHAR',
  loan_count: 'BIGINT',
  loan_amount: 'BIGINT',
  loan_count_3m: 'BIGINT',
  loan_amount_3m: 'BIGINT',
  moving_avg_3m: 'DECIMAL(20, 2)',
};

/**
 * One bank's rows as a Parquet part (analytics/bank_id=<id>/part-*.parquet), for the analysts' Athena
 * table: Athena's CSV SerDes read neither line breaks in quoted fields nor decimal(20,2). DuckDB writes
 * the file aside (Parquet's footer comes last, so it cannot be streamed as it is made), then the file
 * is streamed to the sink and removed.
 */
async function stageBankParquet(duck: DuckDBConnection, bankId: number, file: string, sink: StagingSink, key: string): Promise<void> {
  const columns = EXTRACT_COLUMNS.map((c) => {
    const type = PARQUET_TYPES[c];
    if (!type) throw new Error(`no Parquet type for the contract's column ${c} (local/engine/extract-job.ts PARQUET_TYPES)`);
    return `CAST(${c} AS ${type}) AS ${c}`;
  }).join(', ');
  try {
    await duck.run(
      `COPY (SELECT ${columns} FROM extract_rows WHERE bank_id = ${bankId} ORDER BY branch_id) ` +
        `TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION snappy)`,
    );
    await sink.putObject(key, createReadStream(file));
  } finally {
    await rm(file, { force: true });
  }
}

async function assertExtractColumns(duck: DuckDBConnection): Promise<void> {
  const result = await duck.runAndReadAll('SELECT * FROM extract_rows LIMIT 0');
  const actual = result.columnNames();
  const expected = ['bank_id', ...EXTRACT_COLUMNS];
  if (actual.join(',') !== expected.join(',')) {
    throw new Error(`glue/sql/branch_loans_3m.sql returns columns ${actual.join(', ')}; the contract needs ${expected.join(', ')}`);
  }
}

async function readAll(duck: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await duck.runAndReadAll(sql)).getRowsJS();
}

function jsonLines(records: readonly object[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}
