/** The sample ODS behind `npm start`: realistic shape, the right months, and the same rows for the same day. */
import { startSampleOds } from '../../local/ods';
import { withClient } from '../../local/postgres';
import type { SampleOptions } from '../../local/sample/generate';

const TODAY = { year: 2024, month: 3, day: 1 };

async function snapshot(options: SampleOptions) {
  const ods = await startSampleOds(options);
  try {
    return await withClient(ods.url, async (client) => {
      const one = async (sql: string) => (await client.query(sql)).rows[0];
      return {
        summary: ods.summary,
        loans: await one(`SELECT count(*)::int AS count, min(loan_date)::text AS first, max(loan_date)::text AS last,
                                 md5(string_agg(concat_ws('|', idloan, amount, account_idaccount, loan_date), ',' ORDER BY idloan)) AS digest
                            FROM loans`),
        banks: (await client.query('SELECT name FROM bank ORDER BY idbank')).rows.map((r) => r.name as string),
        branchesPerBank: (await client.query('SELECT count(*)::int AS n FROM branch GROUP BY bank_idbank ORDER BY bank_idbank')).rows.map((r) => r.n as number),
        branchesWithoutClients: (await one('SELECT count(*)::int AS n FROM branch b WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.branch_idbranch = b.idbranch)')).n as number,
        accountsPerClient: (await one('SELECT max(n)::int AS n FROM (SELECT count(*) AS n FROM account GROUP BY client_idclient) x')).n as number,
      };
    });
  } finally {
    await ods.stop();
  }
}

describe('the sample ODS', () => {
  let first: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    first = await snapshot({ loans: 3_000, today: TODAY });
  });

  it('has three banks with about ten branches each, one name with a space', () => {
    expect(first.banks).toHaveLength(3);
    expect(first.banks.some((name) => name.includes(' '))).toBe(true);
    first.branchesPerBank.forEach((n) => expect(n).toBeGreaterThanOrEqual(9));
    first.branchesPerBank.forEach((n) => expect(n).toBeLessThanOrEqual(11));
    expect(first.branchesWithoutClients).toBeGreaterThan(0);
    expect(first.accountsPerClient).toBe(1);
  });

  it('spreads the requested loans over the 24 complete months before today', () => {
    expect(first.loans.count).toBe(3_000);
    expect(first.loans.first >= '2022-03-01').toBe(true);
    expect(first.loans.last <= '2024-02-29').toBe(true);
    expect(first.summary).toMatchObject({ firstMonth: '2022-03', lastMonth: '2024-02', loans: 3_000 });
  });

  it('gives the same rows for the same day, and different rows another day', async () => {
    const again = await snapshot({ loans: 3_000, today: TODAY });
    expect(again.loans.digest).toBe(first.loans.digest);
    const nextDay = await snapshot({ loans: 3_000, today: { ...TODAY, day: 2 } });
    expect(nextDay.loans.digest).not.toBe(first.loans.digest);
  });
});
