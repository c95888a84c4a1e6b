import { anyFailed, backfill, summaryTable, type MonthResult } from '../../scripts/backfill';

const MONTHS = ['2024-01', '2024-02', '2024-03', '2024-04'];

/** A runner that answers from a table and records what it was asked. */
function runner(outcomes: Record<string, MonthResult['outcome']>) {
  const asked: string[] = [];
  return {
    asked,
    run: async (month: string, force: boolean): Promise<MonthResult> => {
      asked.push(`${month}${force ? ' forced' : ''}`);
      return { outcome: outcomes[month] ?? 'succeeded', detail: 'x' };
    },
  };
}

describe('backfill', () => {
  it('runs every month in order, one at a time, passing --force on', async () => {
    const r = runner({ '2024-02': 'skipped' });
    const runs = await backfill(MONTHS, r.run, { force: true, keepGoing: false });
    expect(r.asked).toEqual(['2024-01 forced', '2024-02 forced', '2024-03 forced', '2024-04 forced']);
    expect(runs.map((x) => x.outcome)).toEqual(['succeeded', 'skipped', 'succeeded', 'succeeded']);
    expect(anyFailed(runs)).toBe(false);
  });

  it('stops at the first failed (or busy) month, the rest not run', async () => {
    for (const bad of ['failed', 'busy'] as const) {
      const r = runner({ '2024-02': bad });
      const runs = await backfill(MONTHS, r.run, { force: false, keepGoing: false });
      expect(r.asked).toEqual(['2024-01', '2024-02']);
      expect(runs.map((x) => x.outcome)).toEqual(['succeeded', bad, 'not-run', 'not-run']);
      expect(anyFailed(runs)).toBe(true);
    }
  });

  it('with --keep-going runs the rest, and a runner that throws is that month failing', async () => {
    const runs = await backfill(MONTHS, async (month) => {
      if (month === '2024-02') throw Object.assign(new Error('no state machine'), { name: 'ResourceNotFound' });
      return { outcome: 'succeeded', detail: 'ok' };
    }, { force: false, keepGoing: true });
    expect(runs.map((x) => [x.outcome, x.detail])).toEqual([
      ['succeeded', 'ok'],
      ['failed', 'ResourceNotFound: no state machine'],
      ['succeeded', 'ok'],
      ['succeeded', 'ok'],
    ]);
  });

  it('sums the outcomes under the table', async () => {
    const runs = await backfill(MONTHS, runner({ '2024-01': 'skipped', '2024-03': 'failed' }).run, { force: false, keepGoing: false });
    const table = summaryTable(runs).split('\n');
    expect(table[0]).toMatch(/^month\s+outcome\s+time\s+detail$/);
    expect(table[4]).toMatch(/^2024-04\s+not-run\s+not started: an earlier month failed/);
    expect(table[5]).toBe('4 month(s): 1 published, 1 skipped, 1 failed, 1 not run');
  });
});
