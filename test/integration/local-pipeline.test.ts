/**
 * `npm start` as a user runs it: the production state machine and handlers over the local
 * stand-ins, in a child process per run, on one data dir that keeps buckets, ledger and outbox
 * between runs.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSafeName } from '../../functions/core/entity-naming';
import { extractHeader } from '../../functions/core/extract-csv';
import { extractFileKey } from '../../functions/core/extract-keys';
import { LOAN_EXTRACT } from '../support/run-context';
import type { Manifest } from '../../functions/core/manifest';
import { formatMicroUsd, parseMicroUsd } from '../../functions/core/run-cost';
import { addMonths, calendarDateIn, formatCalendarDate, formatMonth, lastCompleteMonth, monthWindow } from '../../functions/core/month';
import { LOCAL_STAGE } from '../../local/pipeline/local-stack';
import { withClient } from '../../local/postgres';
import { loadSampleOds } from '../../local/sample/generate';
import { realPostgresUrl, realServerDatabase } from '../support/databases';
import { cliReport, runExtractCli, type CliRun } from '../support/local-cli';

const TIME_ZONE = 'Africa/Johannesburg';
// The same sample in every run of this file, even across midnight (the sample is seeded by day).
const SAMPLE = ['--loans', '3000', '--sample-date', formatCalendarDate(calendarDateIn(new Date(), 'Africa/Johannesburg'))];
const SAMPLE_BANKS = ['First National Bank', 'Nedbank', 'Société Générale'];
const month = lastCompleteMonth(new Date(), TIME_ZONE);
const MONTH = formatMonth(month);
const EARLIER_MONTH = formatMonth(addMonths(month, -1));

let dataDir: string;
let firstRun: CliRun;

beforeAll(async () => {
  process.env.STAGE_TIME_ZONE = TIME_ZONE;
  dataDir = await mkdtemp(join(tmpdir(), 'loan-extract-local-'));
  firstRun = await runExtractCli([...SAMPLE, '--month', MONTH], dataDir);
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const publishedFolder = () => join(dataDir, 's3', LOCAL_STAGE.extractBucket);

/** Every plain file published under the extracts prefix, as key → content. */
async function publishedFiles(): Promise<Map<string, string>> {
  const root = publishedFolder();
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const files = new Map<string, string>();
  for (const entry of entries.filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(root.length + 1).split('\\').join('/'), await readFile(path, 'utf8'));
  }
  return files;
}

describe('npm start on the embedded sample', () => {
  it("publishes the contract's file for every bank, as plain files at their S3 keys, matching the manifest", async () => {
    expect(firstRun.code).toBe(0);
    const result = cliReport(firstRun);
    expect(result).toMatchObject({ outcome: 'succeeded', month: MONTH, status: 'SUCCEEDED', ledgerStatus: 'SUCCEEDED', emails: [] });
    const window = monthWindow(month);
    const expectedKeys = SAMPLE_BANKS.map((bank, i) => extractFileKey(LOAN_EXTRACT, window, { fileName: fileSafeName(bank), id: i + 1 }));
    expect(expectedKeys).toContain(`extracts/bank_name=SocieteGenerale/year=${window.year}/month=${window.monthOfYear}/SocieteGenerale_${window.fileDate}.csv`);
    expect(result.files.map((f) => f.key).sort()).toEqual([...expectedKeys].sort());

    const files = await publishedFiles();
    for (const file of result.files) {
      const text = files.get(file.key)!;
      expect(text.startsWith(extractHeader(LOAN_EXTRACT))).toBe(true);
      expect(text.endsWith('\n') && text.slice(0, -1).split('\n')).toHaveLength(file.rows + 1);
      expect(Buffer.byteLength(text)).toBe(file.bytes);
    }
    expect([...files.keys()].filter((key) => key.includes('manifest'))).toEqual([`extracts/_manifests/year=${window.year}/month=${window.monthOfYear}/manifest.json`]);
    expect(firstRun.stdout).toMatch(/✔ ResolveRun .*\n.*StartCrawler.*\n.*WaitForCrawler → GetCrawlerState ×\d+.*\n.*StartExtractJob/);
    expect(firstRun.stdout).toContain('ledger: SUCCEEDED (attempt 1');
  });

  it("records the run's estimated cost in the manifest, after the contract's fields, and prints it", async () => {
    const window = monthWindow(month);
    const manifest = JSON.parse((await publishedFiles()).get(`extracts/_manifests/year=${window.year}/month=${window.monthOfYear}/manifest.json`)!) as Manifest;
    expect(Object.keys(manifest)).toEqual(['month', 'runId', 'generatedAt', 'sourceRowsRead', 'rowsRejected', 'files', 'estimatedCost']);
    const cost = manifest.estimatedCost!;
    // The Glue stand-in reports dev's 2 G.1X workers and the job's real time, billed at least a minute.
    expect(Number(cost.glue.dpuSeconds)).toBeGreaterThanOrEqual(2 * 60);
    expect(Number(cost.glue.dpuSeconds) % 2).toBe(0);
    expect(cost).toMatchObject({
      currency: 'USD',
      glue: { pricePerDpuHour: '0.44' },
      stepFunctions: { pricePer1000Transitions: '0.025' },
      lambda: { pricePer1MRequests: '0.20', pricePerGbSecond: '0.0000133334', publishMemoryMb: 1024 },
    });
    expect(cost.stepFunctions.stateTransitions).toBeGreaterThanOrEqual(16);
    const parts = [cost.glue.cost!, cost.stepFunctions.cost, cost.lambda.cost].map(parseMicroUsd);
    expect(cost.total).toBe(formatMicroUsd(parts.reduce((a, b) => a + b, 0n)));
    expect(firstRun.stdout).toContain(`Estimated cost USD ${cost.total}.`);
    expect(firstRun.stdout).toContain(`estimated cost: USD ${cost.total} (Glue ${cost.glue.dpuSeconds} DPU-s × 0.44/DPU-h = ${cost.glue.cost};`);
    // The handlers' metric lines are in the Lambda log, in the local stage's namespace.
    const emf = (await readFile(join(dataDir, 'logs', 'lambda.jsonl'), 'utf8')).split('\n').filter((line) => line.includes('"_aws"'));
    expect(emf.some((line) => line.includes('"EstimatedCostMicroUsd"') && line.includes('"Namespace":"monthly-loan-extract/local"'))).toBe(true);
  });

  it('a second run of the month is skipped and changes nothing', async () => {
    const before = await publishedFiles();
    const run = await runExtractCli([...SAMPLE, '--month', MONTH], dataDir);
    expect(run.code).toBe(0);
    expect(cliReport(run)).toMatchObject({ outcome: 'skipped', ledgerStatus: 'SUCCEEDED', emails: [] });
    expect(run.stdout).toMatch(/already succeeded/);
    expect(run.stdout).toMatch(/force/);
    expect(run.stdout).not.toMatch(/StartCrawler/);
    expect(await publishedFiles()).toEqual(before);
  });

  it('a --force run republishes byte-identical files', async () => {
    const before = cliReport(firstRun).files;
    const run = await runExtractCli([...SAMPLE, '--month', MONTH, '--force'], dataDir);
    expect(run.code).toBe(0);
    const after = cliReport(run);
    expect(after).toMatchObject({ outcome: 'succeeded', ledgerStatus: 'SUCCEEDED' });
    expect(after.files.map((f) => [f.key, f.sha256])).toEqual(before.map((f) => [f.key, f.sha256]));
    expect(run.stdout).toContain('ledger: SUCCEEDED (attempt 2');
  });

  it.each([
    ['crawler', 'GetCrawlerState', 'CrawlerFailed'],
    ['glue-job', 'GetExtractJobState', 'ExtractJobFailed'],
    ['publish', 'PublishExtracts', 'AccessDenied'],
  ])('--simulate-failure %s: exit 1, one email naming %s, ledger FAILED, no file for the month', async (failure, step, error) => {
    const run = await runExtractCli([...SAMPLE, '--month', EARLIER_MONTH, '--simulate-failure', failure], dataDir);
    expect(run.code).toBe(1);
    const result = cliReport(run);
    expect(result).toMatchObject({ outcome: 'failed', status: 'FAILED', error, ledgerStatus: 'FAILED', files: [] });
    expect(result.emails).toHaveLength(1);
    const email = await readFile(result.emails[0]!, 'utf8');
    expect(email).toMatch(new RegExp(`^Subject: \\[local\\] loan-moving-average ${EARLIER_MONTH} failed at ${step}: ${error}\\r$`, 'm'));
    expect(run.stdout).toContain(`✖ ${error}: `);
    const earlier = monthWindow(addMonths(month, -1));
    expect([...(await publishedFiles()).keys()].filter((key) => key.includes(`/year=${earlier.year}/month=${earlier.monthOfYear}/`))).toEqual([]);
  });

  it('after those failures the month runs cleanly, with no further email', async () => {
    const run = await runExtractCli([...SAMPLE, '--month', EARLIER_MONTH], dataDir);
    expect(run.code).toBe(0);
    expect(cliReport(run)).toMatchObject({ outcome: 'succeeded', ledgerStatus: 'SUCCEEDED', emails: [] });
    expect(cliReport(run).files).toHaveLength(SAMPLE_BANKS.length);
  });

  it.each([
    ['2024-13', /month: "2024-13" has month 13/],
    ['March', /month: must look like "YYYY-MM"/],
    [formatMonth(addMonths(month, 1)), /is not complete yet in Africa\/Johannesburg/],
  ])('refuses --month %s with InvalidInput (exit 2) before starting anything', async (bad, cause) => {
    const run = await runExtractCli(['--month', bad], dataDir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/✖ InvalidInput: /);
    expect(run.stderr).toMatch(cause);
    expect(run.report).toBeUndefined();
  });

  const onRealServer = realPostgresUrl() ? it : it.skip;
  onRealServer('against a real PostgreSQL holding the same sample, publishes the same bytes', async () => {
    const sample = cliReport(firstRun).source;
    if (sample.kind !== 'sample') throw new Error('the first run should be on the sample');
    const [year, monthOfYear, day] = sample.today.split('-').map(Number) as [number, number, number];
    const database = await realServerDatabase();
    const otherDataDir = await mkdtemp(join(tmpdir(), 'loan-extract-local-pg-'));
    try {
      await withClient(database.url, (client) => loadSampleOds(client, { loans: sample.loans, today: { year, month: monthOfYear, day } }));
      const run = await runExtractCli(['--source', database.url, '--month', MONTH], otherDataDir);
      expect(run.code).toBe(0);
      expect(cliReport(run).files.map((f) => [f.key, f.sha256])).toEqual(cliReport(firstRun).files.map((f) => [f.key, f.sha256]));
    } finally {
      await rm(otherDataDir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
