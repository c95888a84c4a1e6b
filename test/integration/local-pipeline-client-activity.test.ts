/**
 * The second extract end to end, as a team member runs it: `npm start -- --extract client-activity`
 * with its folder outside extracts/ (EXTRACTS_PATH), on the hand-built ODS whose numbers
 * test/integration/client-activity.test.ts checks by hand. Every templated part shows in what is
 * published: one file per branch (not per bank), its own key and file-name pattern, its columns, its
 * manifest fields, its calendar (Europe/London) and its own ledger record beside the loan extract's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_STAGE } from '../../local/pipeline/local-stack';
import { embeddedDatabase, loadFixtureOds, type TestDatabase } from '../support/databases';
import { cliReport, startExtractCli, startLocalCommand, type CliRun } from '../support/local-cli';

const EXTRACTS_PATH = join(__dirname, '..', 'fixtures', 'extracts');
const MONTH = '2024-02';
const HEADER = 'client_id,month,loan_count,loan_amount,first_loan_date\n';

/** By hand (test/fixtures/client-activity-ods.sql, month A), per branch: its rows as published. */
const EXPECTED_FILES: Readonly<Record<string, { address: string; rows: string[] }>> = {
  '2': { address: 'Shop 5, "The Grove", Pretoria', rows: ['20,2024-02,1,3001,2024-02-07', '21,2024-02,1,700,2024-02-20'] },
  '10': { address: '1 Main Road, Sandton', rows: ['9,2024-02,2,50,2024-02-28', '10,2024-02,1,0,2024-02-10', '101,2024-02,3,7000,2024-02-01'] },
  '11': { address: '', rows: [] },
  '30': { address: '30 Loop Street', rows: ['300,2024-02,1,250,2024-02-14'] },
  '40': { address: '40 Church Street', rows: ['400,2024-02,3,6147483647,2024-02-05', '401,2024-02,2,-200,2024-02-05'] },
};

const keyOf = (branchId: string) => `extracts/client-activity/branch_id=${branchId}/2024-02/branch${branchId}_clients_20240229.csv`;

let database: TestDatabase;
let dataDir: string;
let run: CliRun;

beforeAll(async () => {
  database = await embeddedDatabase();
  await loadFixtureOds(database.url, 'client-activity-ods.sql');
  dataDir = await mkdtemp(join(tmpdir(), 'client-activity-'));
  run = await startExtractCli(['--extract', 'client-activity', '--month', MONTH, '--source', database.url], dataDir, {
    viaNpm: true,
    timeoutMs: 120_000,
    env: { EXTRACTS_PATH },
  }).finished;
}, 150_000);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await database.drop();
});

const published = (key: string) => readFile(join(dataDir, 's3', LOCAL_STAGE.extractBucket, key), 'utf8');

it('publishes one file per branch under its own key pattern, with its columns and the hand-computed rows', async () => {
  expect(run.code).toBe(0);
  const report = cliReport(run);
  expect(report.extract).toBe('client-activity');
  expect(report.files.map((f) => f.key)).toEqual(Object.keys(EXPECTED_FILES).map(keyOf).sort());
  for (const [branchId, expected] of Object.entries(EXPECTED_FILES)) {
    expect(await published(keyOf(branchId))).toBe(HEADER + expected.rows.map((row) => `${row}\n`).join(''));
  }
  expect(run.stdout).toMatch(/client-activity for 2024-02/);
});

it('writes its manifest at its own key, with its entity fields and control totals in exact decimals', async () => {
  const report = cliReport(run);
  expect(report.manifestKey).toBe('extracts/client-activity/_manifests/2024-02.json');
  const manifest = JSON.parse(await published(report.manifestKey!)) as { month: string; rowsRejected: object; files: Record<string, unknown>[] };
  expect(manifest.month).toBe(MONTH);
  expect(manifest.rowsRejected).toEqual({});
  expect(manifest.files.find((f) => f.key === keyOf('40'))).toMatchObject({
    branchId: 40,
    branchAddress: '40 Church Street',
    rows: 2,
    controlTotals: { loan_count: '5', loan_amount: '6147483447' },
  });
  expect(manifest.files.find((f) => f.key === keyOf('11'))).toMatchObject({ branchId: 11, branchAddress: '', rows: 0 });
});

it('records the month for this extract only: the loan extract never ran it, in the same ledger', async () => {
  const history = async (extract: string) => {
    const command = startLocalCommand('scripts/history.ts', 'history', ['--extract', extract, '--data-dir', dataDir, '--from', MONTH, '--to', MONTH, '--json'], {
      env: { EXTRACTS_PATH },
    });
    const result = await command.finished;
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as { month: string; status: string }[]).map((row) => [row.month, row.status]);
  };
  expect(cliReport(run).ledgerStatus).toBe('SUCCEEDED');
  expect(await history('client-activity')).toEqual([[MONTH, 'SUCCEEDED']]);
  expect(await history('loan-moving-average')).toEqual([[MONTH, 'NEVER_RAN']]);
}, 60_000);
