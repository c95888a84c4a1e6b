/**
 * The oracle test: a small hand-built ODS (test/fixtures/oracle-ods.sql) holding every trap the
 * contract names, and the staged output of each tested month written BY HAND
 * (test/fixtures/oracle/<YYYY-MM>/bank_id=<id>.csv). The arithmetic behind every expected number is
 * in the fixture's comments. Nothing expected here is computed by the code under test.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsvText } from '../../functions/core/csv-reader';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { runExtractJob, type ExtractJobResult } from '../../local/engine/extract-job';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { startEmbeddedOds, type EmbeddedOds } from '../../local/ods';
import { withClient } from '../../local/postgres';
import { loadFixtureOds } from '../support/databases';
import { LOAN_FOLDER } from '../support/engine-extracts';

const FIXTURES = join(__dirname, '..', 'fixtures');
const HEADER = 'bank_name,branch_id,branch_address,month,loan_count,loan_amount,loan_count_3m,loan_amount_3m,moving_avg_3m\n';

/** Every bank of the fixture, as entities/part-*.json must list it (bank 2 has no branches). */
const BANKS = [
  { id: 1, name: 'First National Bank' },
  { id: 2, name: 'Nedbank' },
  { id: 3, name: 'Société Générale' },
  { id: 4, name: 'Umoya "Co-op" Bank, Ltd' },
];
const BANK_WITHOUT_BRANCHES = 2;

/** Banks and branches are read whole, every month (hand count of the fixture's INSERTs). */
const WHOLE_TABLE_ROWS = { bank: 4, branch: 8 };
/** The NULL-date loans (991, 992): read and rejected by every run (their accounts are not looked up). */
const NULL_DATE_LOANS = 2;

interface OracleMonth {
  readonly month: string;
  /** Banks with a staged rows part: those that have branches. */
  readonly stagedBanks: readonly number[];
  /** Loans with loan_date in the window, valid or not (hand count, see the fixture). */
  readonly inWindowLoans: number;
  /** Accounts those loans reference that exist, and the clients of those accounts that exist (hand count). */
  readonly referenced: { readonly account: number; readonly client: number };
  /** Rejected counts by reason; reasons not listed are 0. */
  readonly rejected: Readonly<Record<string, number>>;
}

const MONTHS: readonly OracleMonth[] = [
  {
    // Leap February: window 2023-12-01 .. 2024-02-29.
    month: '2024-02',
    stagedBanks: [1, 3, 4],
    inWindowLoans: 16,
    // 1001 201 1201 3001 3101 3102 4001 9001 (163 has none); each with its own client.
    referenced: { account: 8, client: 8 },
    rejected: { null_amount: 1, null_loan_date: 2, unresolved_account: 1, unresolved_branch: 1 },
  },
  {
    // Ordinary month: window 2024-04-01 .. 2024-06-30; one reject of every resolution reason.
    month: '2024-06',
    stagedBanks: [1, 3, 4],
    inWindowLoans: 18,
    // 1001 201 1201 3001 3101 3102 9001 9002 9003 (no loan of branch 40's 4001); 9002 has no client.
    referenced: { account: 9, client: 8 },
    rejected: {
      null_amount: 2,
      null_loan_date: 2,
      unresolved_account: 1,
      unresolved_bank: 1,
      unresolved_branch: 1,
      unresolved_client: 1,
    },
  },
  {
    // Year boundary: window 2024-11-01 .. 2025-01-31.
    month: '2025-01',
    stagedBanks: [1, 3, 4],
    inWindowLoans: 15,
    // 1001 201 1201 3001 3101 3102 4001 9001 (363's, NULL amount) 9002 9003; 9002 has no client.
    referenced: { account: 10, client: 9 },
    rejected: { null_amount: 1, null_loan_date: 2, unresolved_bank: 1, unresolved_client: 1 },
  },
  {
    // No loan in the window: every row is zeros; only the NULL-date loans are reported.
    month: '2023-09',
    stagedBanks: [1, 3, 4],
    inWindowLoans: 0,
    // None: the NULL-date loan 991 points to 1001, but a NULL-date loan's account is not looked up.
    referenced: { account: 0, client: 0 },
    rejected: { null_loan_date: 2 },
  },
];

describe('oracle: hand-built ODS, hand-computed extract', () => {
  let ods: EmbeddedOds;
  let staging: string;

  beforeAll(async () => {
    ods = await startEmbeddedOds();
    await loadFixtureOds(ods.url, 'oracle-ods.sql');
    staging = await mkdtemp(join(tmpdir(), 'extract-oracle-'));
  });

  afterAll(async () => {
    if (staging) await rm(staging, { recursive: true, force: true });
    await ods?.stop();
  });

  it('the leap February ends on the 29th', () => {
    const window = monthWindow(parseMonth('2024-02'));
    expect(window.fileDate).toBe('20240229');
    expect(window.windowStart).toBe('2023-12-01');
    expect(window.windowEnd).toBe('2024-03-01');
    expect(monthWindow(parseMonth('2025-01')).windowStart).toBe('2024-11-01');
  });

  it('the fixture holds the in-window loans counted by hand', async () => {
    // Guards the hand counts against a fixture edited without updating them (plain SQL, not the code under test).
    const counts = await withClient(ods.url, async (client) => {
      const result: Record<string, number> = {};
      for (const { month } of MONTHS) {
        const w = monthWindow(parseMonth(month));
        const { rows } = await client.query<{ n: string }>(
          'SELECT count(*) AS n FROM loans WHERE loan_date >= $1 AND loan_date < $2',
          [w.windowStart, w.windowEnd],
        );
        result[month] = Number(rows[0]!.n);
      }
      const nullDates = await client.query<{ n: string }>('SELECT count(*) AS n FROM loans WHERE loan_date IS NULL');
      result.nullDates = Number(nullDates.rows[0]!.n);
      return result;
    });
    expect(counts).toEqual({ ...Object.fromEntries(MONTHS.map((m) => [m.month, m.inWindowLoans])), nullDates: NULL_DATE_LOANS });
  });

  describe.each(MONTHS)('$month', (expected) => {
    let folder: string;
    let job: ExtractJobResult;

    beforeAll(async () => {
      folder = join(staging, expected.month);
      job = await runExtractJob({
        extract: LOAN_FOLDER,
        sourceUrl: ods.url,
        window: monthWindow(parseMonth(expected.month)),
        sink: new FolderStagingSink(folder),
        runId: 'oracle',
      });
    });

    it('stages each bank with branches byte for byte as computed by hand', async () => {
      const staged = await stagedRows(folder);
      expect(Object.keys(staged).map(Number).sort((a, b) => a - b)).toEqual(expected.stagedBanks);
      for (const bankId of expected.stagedBanks) {
        const parts = staged[bankId]!;
        expect(parts).toHaveLength(1);
        const want = await readFile(join(FIXTURES, 'oracle', expected.month, `bank_id=${bankId}.csv`));
        const got = await readFile(parts[0]!);
        // Compare as text first for a readable diff, then as bytes.
        expect({ bankId, csv: got.toString('utf8') }).toEqual({ bankId, csv: want.toString('utf8') });
        expect(got.equals(want)).toBe(true);
        expect(got.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
        expect(got.toString('utf8').startsWith(HEADER)).toBe(true);
      }
    });

    it('stages no rows for the bank without branches, but lists it among the banks', async () => {
      const staged = await stagedRows(folder);
      expect(staged[BANK_WITHOUT_BRANCHES]).toBeUndefined();
      expect(await readJsonLines(folder, 'entities')).toEqual(BANKS);
      expect(job.entities).toEqual(BANKS);
    });

    it('reports the rejected loans counted by hand', async () => {
      const lines = await readJsonLines(folder, 'rejected');
      const byReason: Record<string, number> = {};
      for (const line of lines as { reason: string; row_count: number }[]) {
        expect(byReason[line.reason]).toBeUndefined();
        if (line.row_count !== 0) byReason[line.reason] = line.row_count;
      }
      expect(byReason).toEqual(expected.rejected);
    });

    it('reads only the window and NULL-date loans, the accounts and clients the window references, and every bank and branch', async () => {
      const counts = Object.fromEntries((await readJsonLines(folder, 'source_rows')).map((r) => [(r as { table: string }).table, (r as { row_count: number }).row_count]));
      expect(counts).toEqual({ ...WHOLE_TABLE_ROWS, ...expected.referenced, loans: expected.inWindowLoans + NULL_DATE_LOANS });
      expect(job.sourceRows.find((r) => r.table === 'loans')?.row_count).toBe(expected.inWindowLoans + NULL_DATE_LOANS);
    });

    it('conserves loans: staged loan_count_3m + in-window rejects = in-window loans', async () => {
      const staged = await stagedRows(folder);
      let counted = 0;
      for (const parts of Object.values(staged)) {
        for (const part of parts) {
          const [header, ...rows] = parseCsvText(await readFile(part, 'utf8'));
          const column = header!.indexOf('loan_count_3m');
          expect(column).toBeGreaterThanOrEqual(0);
          for (const row of rows) counted += Number(row[column]);
        }
      }
      // NULL-date loans are in no window; every other reason only counts loans inside it.
      const rejectedInWindow = Object.entries(expected.rejected)
        .filter(([reason]) => reason !== 'null_loan_date')
        .reduce((sum, [, n]) => sum + n, 0);
      expect(counted + rejectedInWindow).toBe(expected.inWindowLoans);
    });
  });
});

/** bank id → paths of its staged rows parts (rows/bank_id=<id>/part-*.csv). */
async function stagedRows(folder: string): Promise<Record<number, string[]>> {
  const rowsFolder = join(folder, 'rows');
  const result: Record<number, string[]> = {};
  let entries: string[];
  try {
    entries = await readdir(rowsFolder);
  } catch {
    return result;
  }
  for (const entry of entries) {
    const match = /^bank_id=(-?\d+)$/.exec(entry);
    if (!match) throw new Error(`unexpected entry rows/${entry}`);
    const parts = (await readdir(join(rowsFolder, entry))).filter((f) => /^part-.*\.csv$/.test(f)).sort();
    if (parts.length > 0) result[Number(match[1])] = parts.map((p) => join(rowsFolder, entry, p));
  }
  return result;
}

async function readJsonLines(folder: string, name: string): Promise<unknown[]> {
  const files = (await readdir(join(folder, name))).filter((f) => /^part-.*\.json$/.test(f)).sort();
  const records: unknown[] = [];
  for (const file of files) {
    const text = await readFile(join(folder, name, file), 'utf8');
    records.push(...text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown));
  }
  return records;
}
