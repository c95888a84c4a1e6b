/**
 * The same SQL file, run by PostgreSQL directly and by the local DuckDB engine (which reads the
 * window from that PostgreSQL), gives the same rows on seeded random data full of traps. Spark runs
 * this SQL on AWS, so the SQL must not lean on either engine's quirks.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientBase } from 'pg';
import { csvLine, extractColumns, extractHeader } from '../../functions/core/extract-csv';
import { monthWindow, parseMonth, type MonthWindow } from '../../functions/core/month';
import { runExtractJob } from '../../local/engine/extract-job';
import { extractWindowSql } from '../../local/engine/extract-sql';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { withClient } from '../../local/postgres';
import { testDatabases, type TestDatabase } from '../support/databases';
import { LOAN_FOLDER } from '../support/engine-extracts';
import { loadRandomOds } from '../support/random-ods';

const MONTHS = ['2023-01', '2023-07', '2024-01', '2024-02', '2024-12', '2025-01', '2025-06', '2026-02'];
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

describe.each(testDatabases())('SQL parity, DuckDB vs %s', (_label, createDatabase) => {
  let database: TestDatabase;
  let staging: string;

  beforeAll(async () => {
    database = await createDatabase();
    await withClient(database.url, (client) => loadRandomOds(client, 'parity-v1', 4_000));
    staging = await mkdtemp(join(tmpdir(), 'extract-parity-'));
  });

  afterAll(async () => {
    await database?.drop();
    if (staging) await rm(staging, { recursive: true, force: true });
  });

  it.each(MONTHS)('%s: same files and same rejected counts', async (month) => {
    const window = monthWindow(parseMonth(month));
    const fromPostgres = await withClient(database.url, (client) => runSqlInPostgres(client, window));

    const folder = join(staging, month);
    const job = await runExtractJob({ extract: LOAN_FOLDER, sourceUrl: database.url, window, sink: new FolderStagingSink(folder), runId: 'parity' });

    expect(await stagedCsvByBank(folder)).toEqual(fromPostgres.csvByBank);
    expect(job.rejected).toEqual(fromPostgres.rejected);
  });

  // The random data must actually exercise the traps, or the parity above proves little.
  it('exercises every reject reason, averages that round both ways, and sums past 2^31', async () => {
    const { sums, reasons, banks } = await withClient(database.url, async (client) => {
      const seen = { sums: [] as bigint[], reasons: new Set<string>(), banks: new Set<string>() };
      for (const month of MONTHS) {
        const result = await runSqlInPostgres(client, monthWindow(parseMonth(month)));
        seen.sums.push(...result.rows.map((r) => BigInt(r[8] as string)));
        result.rejected.forEach((r) => seen.reasons.add(r.reason));
        Object.keys(result.csvByBank).forEach((b) => seen.banks.add(b));
      }
      return seen;
    });
    expect([...reasons].sort()).toEqual(['null_amount', 'null_loan_date', 'unresolved_account', 'unresolved_bank', 'unresolved_branch', 'unresolved_client']);
    expect(banks.size).toBe(4);
    expect(sums.some((s) => s % 3n === 1n)).toBe(true);
    expect(sums.some((s) => s % 3n === 2n)).toBe(true);
    expect(sums.some((s) => s > 2n ** 31n)).toBe(true);
    expect(sums.some((s) => s < 0n)).toBe(true);
  });
});

interface PostgresResult {
  readonly rows: (string | null)[][];
  readonly csvByBank: Record<string, string>;
  readonly rejected: { reason: string; row_count: number }[];
}

async function runSqlInPostgres(client: ClientBase, window: MonthWindow): Promise<PostgresResult> {
  await client.query('BEGIN');
  try {
    await client.query(`CREATE TEMP TABLE extract_window ON COMMIT DROP AS ${extractWindowSql(window)}`);
    const result = await client.query({ text: LOAN_FOLDER.sql.rows, rowMode: 'array', types: RAW_TEXT });
    const rejected = await client.query({ text: LOAN_FOLDER.sql.rejected!, rowMode: 'array', types: RAW_TEXT });
    expect(result.fields.map((f) => f.name)).toEqual(['bank_id', ...extractColumns(LOAN_FOLDER.definition)]);
    const rows = result.rows as (string | null)[][];
    const csvByBank: Record<string, string> = {};
    for (const [bankId, ...values] of rows) {
      csvByBank[bankId!] = (csvByBank[bankId!] ?? extractHeader(LOAN_FOLDER.definition)) + csvLine(values);
    }
    return {
      rows,
      csvByBank,
      rejected: (rejected.rows as string[][]).map(([reason, count]) => ({ reason: reason!, row_count: Number(count) })),
    };
  } finally {
    await client.query('COMMIT');
  }
}

async function stagedCsvByBank(folder: string): Promise<Record<string, string>> {
  const rowsFolder = join(folder, 'rows');
  const byBank: Record<string, string> = {};
  for (const partition of await readdir(rowsFolder).catch(() => [])) {
    const [part] = await readdir(join(rowsFolder, partition));
    byBank[partition.replace('bank_id=', '')] = await readFile(join(rowsFolder, partition, part!), 'utf8');
  }
  return byBank;
}
