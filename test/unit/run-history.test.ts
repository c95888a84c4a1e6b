import { formatHistoryTable, historyExtractOf, historyRow, historyRows, type HistoryExtract } from '../../functions/core/run-history';
import type { MonthRecord } from '../../functions/core/run-ledger';
import { LOAN_EXTRACT } from '../support/run-context';

const LOAN: HistoryExtract = historyExtractOf(LOAN_EXTRACT);
/** Long after every month below is due. */
const LATER = new Date('2024-07-15T00:00:00Z');

const record = (month: string, overrides: Partial<MonthRecord> = {}): MonthRecord => ({
  extract: LOAN.id,
  month,
  status: 'SUCCEEDED',
  executionArn: `arn:aws:states:af-south-1:1:execution:m:${month}`,
  runId: month,
  force: false,
  attempt: 1,
  leaseExpiresAt: '2024-04-01T06:00:00.000Z',
  startedAt: '2024-04-01T00:00:00.000Z',
  updatedAt: '2024-04-01T00:03:05.000Z',
  finishedAt: '2024-04-01T00:03:05.000Z',
  history: [],
  ...overrides,
});

const big = '9007199254740993'; // 2^53 + 1: a float would print ...992
const stats = {
  manifestKey: 'm',
  fileCount: 2,
  rows: 20,
  bytes: 100,
  files: [
    { key: 'a', rows: 10, bytes: 50, sha256: 'x', controlTotals: { loan_count: '7', loan_amount: big } },
    { key: 'b', rows: 10, bytes: 50, sha256: 'y', controlTotals: { loan_count: '3', loan_amount: '1' } },
  ],
  rowsRejected: { null_amount: 2, orphan_account: 3 },
};

describe('a month of history', () => {
  it('sums control totals exactly, as decimal strings, and rejected rows over reasons', () => {
    expect(historyRow(LOAN, '2024-03', record('2024-03', { stats }), LATER)).toEqual({
      extract: 'loan-moving-average',
      month: '2024-03',
      status: 'SUCCEEDED',
      attempts: 1,
      startedAt: '2024-04-01T00:00:00.000Z',
      finishedAt: '2024-04-01T00:03:05.000Z',
      durationSeconds: 185,
      files: 2,
      rows: 20,
      rejectedRows: 5,
      controlTotals: { loan_count: '10', loan_amount: '9007199254740994' },
    });
  });

  it('shows a failed month with its attempts and no output, and a month without a record as NEVER_RAN', () => {
    expect(historyRow(LOAN, '2024-04', record('2024-04', { status: 'FAILED', attempt: 2 }), LATER)).toMatchObject({ status: 'FAILED', attempts: 2, files: null, controlTotals: null });
    expect(historyRow(LOAN, '2024-05', undefined, LATER)).toMatchObject({ status: 'NEVER_RAN', attempts: 0, startedAt: null });
  });

  it('shows a month without a record as NOT_DUE until its scheduled run plus the grace (08:00 on the 1st for the loan extract), NEVER_RAN from then', () => {
    expect(LOAN.schedule).toMatchObject({ cron: 'cron(0 2 1 * ? *)', timeZone: 'Africa/Johannesburg' });
    expect(historyRow(LOAN, '2024-05', undefined, new Date('2024-06-01T07:59:59+02:00')).status).toBe('NOT_DUE');
    expect(historyRow(LOAN, '2024-05', undefined, new Date('2024-06-01T08:00:00+02:00')).status).toBe('NEVER_RAN');
    // The morning of the 1st: the month just ended is the last complete one, listed, and not yet missed.
    const morning = new Date('2024-06-01T06:30:00+02:00');
    expect(historyRows(LOAN, [record('2024-04')], {}, morning).map((r) => `${r.month} ${r.status}`)).toEqual(['2024-04 SUCCEEDED', '2024-05 NOT_DUE']);
  });

  it('lists every month of the range, gaps included; open ends are the first recorded and the last complete month', () => {
    const records = [record('2024-02'), record('2024-04')];
    const latest = new Date('2024-06-20T00:00:00Z'); // 2024-05 the last complete month, and due
    expect(historyRows(LOAN, records, {}, latest).map((r) => `${r.month} ${r.status}`)).toEqual(['2024-02 SUCCEEDED', '2024-03 NEVER_RAN', '2024-04 SUCCEEDED', '2024-05 NEVER_RAN']);
    expect(historyRows(LOAN, records, { from: { year: 2024, month: 4 }, to: { year: 2024, month: 4 } }, latest).map((r) => r.month)).toEqual(['2024-04']);
    expect(historyRows(LOAN, [], {}, latest)).toEqual([]);
  });

  it('prints one aligned line per month under a header', () => {
    const table = formatHistoryTable(LOAN, [historyRow(LOAN, '2024-03', record('2024-03', { stats }), LATER), historyRow(LOAN, '2024-04', undefined, LATER)]).split('\n');
    expect(table[0]).toMatch(/^month\s+status\s+attempts\s+started\s+finished\s+duration\s+files\s+rows\s+rejected\s+loan_count\s+loan_amount$/);
    expect(table[1]).toMatch(/^2024-03\s+SUCCEEDED\s+1\s+2024-04-01 00:00:00Z\s+2024-04-01 00:03:05Z\s+3m05s\s+2\s+20\s+5\s+10\s+9007199254740994$/);
    expect(table[2]).toBe('2024-04  NEVER_RAN         0');
  });

  it("sums and shows another extract's own control totals, in its definition's order", () => {
    const clients: HistoryExtract = { id: 'client-activity', controlTotals: ['loan_amount', 'loan_count', 'clients'], schedule: LOAN.schedule };
    const files = [
      { key: 'a', rows: 2, bytes: 9, sha256: 'x', controlTotals: { loan_count: '2', loan_amount: big, clients: '2' } },
      { key: 'b', rows: 1, bytes: 9, sha256: 'y', controlTotals: { loan_count: '1', loan_amount: '1', clients: '1' } },
    ];
    const row = historyRow(clients, '2024-03', record('2024-03', { extract: 'client-activity', stats: { ...stats, files } }), LATER);
    expect(row).toMatchObject({ extract: 'client-activity', controlTotals: { loan_amount: '9007199254740994', loan_count: '3', clients: '3' } });
    const table = formatHistoryTable(clients, [row]).split('\n');
    expect(table[0]).toMatch(/\s+rejected\s+loan_amount\s+loan_count\s+clients$/);
    expect(table[1]).toMatch(/\s+5\s+9007199254740994\s+3\s+3$/);
  });
});
