/**
 * The benchmark's generated source, at a tiny size: the row counts, the shape the extract relies on
 * (banks, ~300 branches, one account per client, a branch without clients per bank, loans only in the
 * history, NULLs), and that the engine reads it as the model says. Counts, not timings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientCount, countSource, generateSource, historyDays, loanCount, type SourceSpec } from '../../bench/source';
import { monthWindow } from '../../functions/core/month';
import { runExtractJob } from '../../local/engine/extract-job';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { withClient } from '../../local/postgres';
import { testDatabases, type TestDatabase } from '../support/databases';
import { LOAN_FOLDER } from '../support/engine-extracts';

const SPEC: SourceSpec = { loansPer36Months: 36_000, months: 72, lastMonth: { year: 2024, month: 2 } };

describe('history and sizes', () => {
  it('keeps the bank the same size at any history length: N loans per 36 months, N / 4 clients', () => {
    expect(loanCount({ loansPer36Months: 10_000_000, months: 36 })).toBe(10_000_000);
    expect(loanCount({ loansPer36Months: 10_000_000, months: 72 })).toBe(20_000_000);
    expect(clientCount({ loansPer36Months: 10_000_000 })).toBe(2_500_000);
  });

  it('ends the history at the last month and counts its days by calendar', () => {
    expect(historyDays({ months: 36, lastMonth: { year: 2024, month: 2 } })).toEqual({
      firstMonth: { year: 2021, month: 3 },
      firstDay: '2021-03-01',
      days: 1096, // 2021-03-01 .. 2024-02-29, with one February 29th
    });
  });
});

describe.each(testDatabases())('the generated source on %s', (_label, createDatabase) => {
  let database: TestDatabase;
  let staging: string;

  beforeAll(async () => {
    database = await createDatabase();
    await withClient(database.url, (client) => generateSource(client, SPEC));
    staging = await mkdtemp(join(tmpdir(), 'bench-source-'));
  });

  afterAll(async () => {
    await database?.drop();
    if (staging) await rm(staging, { recursive: true, force: true });
  });

  it('has the counts of its spec', async () => {
    const counts = await withClient(database.url, (client) => countSource(client, SPEC));
    expect(counts).toMatchObject({ banks: 3, branches: 300, clients: 9_000, accounts: 9_000, loans: 72_000 });
    // 3 of 72 months, minus the NULL dates (0.02%) and give or take the late entries.
    expect(counts.loansInWindow).toBeGreaterThan(72_000 * (3 / 72) * 0.9);
    expect(counts.loansInWindow).toBeLessThan(72_000 * (3 / 72) * 1.1);
  });

  it('has the shape the extract relies on', async () => {
    const shape = await withClient(database.url, async (client) => {
      const one = async (sql: string) => Object.values((await client.query(sql)).rows[0] as Record<string, unknown>).map(String);
      return {
        history: await one("SELECT min(loan_date)::text, max(loan_date)::text FROM loans"),
        nulls: await one('SELECT count(*) FILTER (WHERE amount IS NULL) > 0 AS amount, count(*) FILTER (WHERE loan_date IS NULL) > 0 AS loan_date FROM loans'),
        branchesWithoutClients: await one(
          'SELECT count(*) FROM branch b WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.branch_idbranch = b.idbranch)',
        ),
        quotedAddresses: await one(`SELECT count(*) > 0 FROM branch WHERE address LIKE '%"%,%'`),
        orphanLoans: await one('SELECT count(*) FROM loans l LEFT JOIN account a ON a.idaccount = l.account_idaccount WHERE a.idaccount IS NULL'),
        loanDateIndex: await one("SELECT count(*) FROM pg_indexes WHERE tablename = 'loans' AND indexdef LIKE '%(loan_date)%'"),
      };
    });
    expect(shape).toEqual({
      history: ['2018-03-01', '2024-02-29'],
      nulls: ['true', 'true'],
      branchesWithoutClients: ['3'],
      quotedAddresses: ['true'],
      orphanLoans: ['0'],
      loanDateIndex: ['1'],
    });
  });

  it('is read by the engine as the model says: the window and the NULL-date loans, the accounts and clients they reference, banks and branches whole', async () => {
    const window = monthWindow(SPEC.lastMonth);
    const { counts, referenced } = await withClient(database.url, async (client) => {
      const inWindow = 'l.loan_date >= $1 AND l.loan_date < $2';
      const count = async (sql: string) => Number((await client.query<{ n: string }>(sql, [window.windowStart, window.windowEnd])).rows[0]!.n);
      return {
        counts: await countSource(client, SPEC),
        referenced: {
          account: await count(`SELECT count(*) AS n FROM account a WHERE EXISTS (SELECT 1 FROM loans l WHERE l.account_idaccount = a.idaccount AND ${inWindow})`),
          client: await count(`SELECT count(*) AS n FROM client c WHERE EXISTS
            (SELECT 1 FROM account a JOIN loans l ON l.account_idaccount = a.idaccount WHERE a.client_idclient = c.idclient AND ${inWindow})`),
        },
      };
    });
    const job = await runExtractJob({ extract: LOAN_FOLDER, sourceUrl: database.url, window, sink: new FolderStagingSink(staging), runId: 'bench' });
    expect(referenced.client).toBeLessThan(counts.clients);
    expect(Object.fromEntries(job.sourceRows.map((r) => [r.table, r.row_count]))).toEqual({
      bank: 3,
      branch: 300,
      ...referenced,
      loans: counts.loansInWindow + counts.loansNullDate,
    });
    expect(job.parts).toHaveLength(3);
    expect(job.parts.reduce((n, p) => n + p.rows, 0)).toBe(300);
  });
});
