/**
 * `npm start` when a run dies instead of failing: SIGTERM (what `timeout` and a cancelled
 * CI job send) stops the execution as Ctrl-C does; a run killed outright (SIGKILL, `--simulate-crash`)
 * leaves its month RUNNING, and the next run releases it with one email and runs the month; a full
 * disk under the local DynamoDB and an error no one caught fail the run cleanly. No run leaves its
 * staging behind.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { addMonths, calendarDateIn, formatCalendarDate, formatMonth, lastCompleteMonth } from '../../functions/core/month';
import { LOCAL_STAGE } from '../../local/pipeline/local-stack';
import { readPublishedMonth } from '../../local/pipeline/published-month';
import { S3_STAND_IN_CREDENTIALS, startS3StandIn } from '../../local/stand-ins/s3';
import { cliReport, runExtractCli, startExtractCli, type CliOptions, type CliRun } from '../support/local-cli';

const TIME_ZONE = 'Africa/Johannesburg';
// The same sample in every run of this file, even across midnight (the sample is seeded by day).
const SAMPLE = ['--loans', '3000', '--sample-date', formatCalendarDate(calendarDateIn(new Date(), TIME_ZONE))];
const last = lastCompleteMonth(new Date(), TIME_ZONE);
const monthsAgo = (n: number) => formatMonth(addMonths(last, -n));
/** A state every run prints a few seconds in, with the month held (RUNNING) in the ledger. */
const RUNNING_STATE = /✔ StartExtractJob /;

let dataDir: string;
/** Executions that failed, were stopped or died: none may leave staging behind. */
const endedBadly: string[] = [];

beforeAll(async () => {
  process.env.STAGE_TIME_ZONE = TIME_ZONE;
  dataDir = await mkdtemp(join(tmpdir(), 'loan-extract-recovery-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function outbox(): Promise<string[]> {
  return (await readdir(join(dataDir, 'outbox')).catch(() => [] as string[])).sort();
}

/** The emails written since `before`, as text. */
async function emailsSince(before: readonly string[]): Promise<string[]> {
  const names = (await outbox()).filter((name) => !before.includes(name));
  return Promise.all(names.map((name) => readFile(join(dataDir, 'outbox', name), 'utf8')));
}

function executionName(run: CliRun): string {
  const name = /^ {2}execution (\S+)$/m.exec(run.stdout)?.[1];
  if (!name) throw new Error(`no execution in:\n${run.stdout}\n${run.stderr}`);
  return name;
}

/** Starts a run and kills its process outright (SIGKILL: no handler runs) once it printed `pattern`. */
async function killedRun(args: readonly string[], pattern = RUNNING_STATE): Promise<{ run: CliRun; name: string }> {
  const cli = startExtractCli([...SAMPLE, ...args], dataDir);
  await cli.waitForOutput(pattern);
  // The lock names the CLI's own process.
  process.kill(Number(await readFile(join(dataDir, '.lock'), 'utf8')), 'SIGKILL');
  const run = await cli.finished;
  const name = executionName(run);
  endedBadly.push(name);
  return { run, name };
}

/** Starts a run and, once it printed `pattern`, does `then` to it; returns how it ended. */
async function interruptedRun(args: readonly string[], then: (cli: ReturnType<typeof startExtractCli>) => void | Promise<void>, options?: CliOptions): Promise<CliRun> {
  const cli = startExtractCli([...SAMPLE, ...args], dataDir, options);
  await cli.waitForOutput(RUNNING_STATE);
  await then(cli);
  const run = await cli.finished;
  endedBadly.push(executionName(run));
  return run;
}

/** The next run after a dead one: it releases the month, emailing once about the dead execution, and publishes it. */
async function expectReleasedThenPublished(args: readonly string[], month: string, dead: string): Promise<{ run: CliRun; email: string }> {
  const before = await outbox();
  const run = await runExtractCli([...SAMPLE, ...args], dataDir);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`^ {2}released loan-moving-average ${month} from execution ${dead} \\(RUNNING since [^)]+\\): its process is gone; ledger now FAILED$`, 'm'));
  const report = cliReport(run);
  expect(report).toMatchObject({ outcome: 'succeeded', month, status: 'SUCCEEDED', ledgerStatus: 'SUCCEEDED', emails: [] });
  expect(report.released).toEqual({ executionArn: expect.stringMatching(new RegExp(`:${dead}$`)), emails: [expect.stringContaining(join(dataDir, 'outbox'))] });
  const emails = await emailsSince(before);
  expect(emails).toHaveLength(1);
  const email = emails[0]!;
  expect(email).toMatch(new RegExp(`^Subject: \\[local\\] loan-moving-average ${month} was aborted: ExecutionAborted\\r$`, 'm'));
  expect(email).toContain(`execution:monthly-loan-extract-local:${dead}`);
  expect(email).toMatch(/its process is gone/);
  expect(email).toMatch(new RegExp(`Ledger: +loan-moving-average ${month} is marked FAILED`));
  const published = await readPublishedMonth(join(dataDir, 's3', LOCAL_STAGE.extractBucket), month);
  expect(published?.runId).toBe(report.executionName);
  expect(published?.files.length).toBe(3);
  expect(published?.files.every((file) => file.matchesManifest)).toBe(true);
  return { run, email };
}

describe('npm start stopped by a signal', () => {
  it('SIGTERM to every process of `npm start` (as timeout sends it) stops the execution: ABORTED, one email, ledger FAILED, the next run succeeds', async () => {
    const month = monthsAgo(0);
    const before = await outbox();
    const run = await interruptedRun(['--month', month], (cli) => cli.signal('SIGTERM', true), { viaNpm: true });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('SIGTERM received: stopping the execution (as "Stop execution" in the console)');
    const report = cliReport(run);
    expect(report).toMatchObject({ outcome: 'failed', status: 'ABORTED', ledgerStatus: 'FAILED', files: [] });
    expect(report.cause).toBe('the local run was stopped: SIGTERM received');
    const emails = await emailsSince(before);
    expect(emails).toHaveLength(1);
    expect(report.emails).toHaveLength(1);
    expect(emails[0]).toMatch(new RegExp(`^Subject: \\[local\\] loan-moving-average ${month} was aborted: ExecutionAborted\\r$`, 'm'));
    expect(emails[0]).toContain('the local run was stopped: SIGTERM received');

    const next = await runExtractCli([...SAMPLE, '--month', month], dataDir);
    expect(next.code).toBe(0);
    expect(cliReport(next)).toMatchObject({ outcome: 'succeeded', ledgerStatus: 'SUCCEEDED', emails: [] });
    expect(cliReport(next).released).toBeUndefined();
    expect(next.stdout).toContain('ledger: SUCCEEDED (attempt 2');
  });

  it('exits 1 after SIGTERM, and a second signal only says it is still stopping', async () => {
    const month = monthsAgo(1);
    const before = await outbox();
    const run = await interruptedRun(['--month', month], async (cli) => {
      cli.signal('SIGTERM');
      await cli.waitForOutput(/SIGTERM received: stopping the execution/);
      cli.signal('SIGINT');
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/SIGTERM received: stopping the execution[^]*\n {2}still stopping: waiting for the running step to end/);
    expect(cliReport(run)).toMatchObject({ outcome: 'failed', status: 'ABORTED', ledgerStatus: 'FAILED' });
    expect(await emailsSince(before)).toHaveLength(1);
  });
});

describe('npm start killed outright', () => {
  it('the next run releases the month the dead run held (one email naming it) and publishes it in the same run', async () => {
    const month = monthsAgo(2);
    const before = await outbox();
    const { run, name } = await killedRun(['--month', month]);
    expect(run.code).not.toBe(0);
    expect(run.report).toBeUndefined();
    expect(await emailsSince(before)).toEqual([]);
    const { email } = await expectReleasedThenPublished(['--month', month], month, name);
    expect(email).toContain(`{"extract":"loan-moving-average","month":"${month}"}`);
  });

  it('--force after a killed --force run: released, re-run input forced, republished', async () => {
    const month = monthsAgo(2);
    const { name } = await killedRun(['--month', month, '--force']);
    const { run, email } = await expectReleasedThenPublished(['--month', month, '--force'], month, name);
    expect(email).toContain(`{"extract":"loan-moving-average","month":"${month}","force":true}`);
    expect(run.stdout).toContain('ledger: SUCCEEDED (attempt 4');
  });

  it('--simulate-crash N kills the process at the Nth write under extracts/; the next run releases and publishes a consistent month', async () => {
    const month = monthsAgo(3);
    const cli = startExtractCli([...SAMPLE, '--month', month, '--simulate-crash', '2'], dataDir);
    const run = await cli.finished;
    endedBadly.push(executionName(run));
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('simulating a crash: this process is killed (SIGKILL) once 2 object(s) under extracts/ are written');
    expect(run.stdout).toMatch(/WaitForExtractJob → GetExtractJobState/);
    expect(run.stdout).not.toMatch(/PublishExtracts|Published/);
    expect(run.report).toBeUndefined();
    await expectReleasedThenPublished(['--month', month], month, executionName(run));
  });
});

describe('npm start when a stand-in fails', () => {
  it('a full disk under the local DynamoDB fails the run cleanly (exit 1, the reason shown); the next run releases the month', async () => {
    const month = monthsAgo(4);
    const flag = join(dataDir, 'disk-full');
    const env = { NODE_OPTIONS: `--require ${join(__dirname, '..', 'support', 'full-disk-ledger.js')}`, FULL_DISK_FLAG: flag };
    const run = await interruptedRun(['--month', month], () => writeFile(flag, ''), { env });
    await rm(flag);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/Node\.js v\d+/); // no crash
    expect(run.stdout).toContain('the local DynamoDB (dynalite, ');
    expect(run.stdout).toContain('No space left on device');
    expect(run.stdout).toContain('the next run on this data dir releases it');
    expect(cliReport(run)).toMatchObject({ outcome: 'failed', status: 'FAILED', ledgerStatus: 'RUNNING' });
    await expectReleasedThenPublished(['--month', month], month, executionName(run));
  });

  it('an error no one caught stops the execution as SIGTERM does, saying what it was, and exits 1', async () => {
    const month = monthsAgo(5);
    const flag = join(dataDir, 'throw');
    const env = { NODE_OPTIONS: `--require ${join(__dirname, '..', 'support', 'uncaught-error.js')}`, UNCAUGHT_ERROR_FLAG: flag };
    const before = await outbox();
    const run = await interruptedRun(['--month', month], () => writeFile(flag, ''), { env });
    await rm(flag);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('✖ Error: stand-in storage failed: ENOSPC: no space left on device, write\n  no one caught this error');
    expect(run.stderr).not.toMatch(/Node\.js v\d+/);
    expect(cliReport(run)).toMatchObject({
      outcome: 'failed',
      status: 'ABORTED',
      ledgerStatus: 'FAILED',
      cause: 'the local run was stopped: an error no one caught (Error: stand-in storage failed: ENOSPC: no space left on device, write)',
    });
    expect(await emailsSince(before)).toHaveLength(1);
  });
});

describe('staging', () => {
  it('a run that fails (--simulate-failure glue-job) leaves no staging; nor did any run above that failed, was stopped or died', async () => {
    const run = await runExtractCli([...SAMPLE, '--month', monthsAgo(6), '--simulate-failure', 'glue-job'], dataDir);
    expect(cliReport(run)).toMatchObject({ outcome: 'failed', error: 'ExtractJobFailed' });
    endedBadly.push(cliReport(run).executionName);
    const keys = await stagingKeys();
    expect(endedBadly).toHaveLength(8);
    expect(keys.filter((key) => endedBadly.some((name) => key.includes(`/run=${name}/`)))).toEqual([]);
    // Nor, in the versioned bucket, the old versions a published run's own clean-up of staging leaves.
    expect(keys).toEqual([]);
  });
});

/** Every key (any version, delete markers too) under staging/ in the extract bucket. */
async function stagingKeys(): Promise<string[]> {
  const s3 = await startS3StandIn(join(dataDir, 's3-store'), [{ name: LOCAL_STAGE.extractBucket, versioned: true }]);
  const client = new S3Client({ endpoint: s3.url, region: LOCAL_STAGE.region, credentials: S3_STAND_IN_CREDENTIALS });
  try {
    const page = await client.send(new ListObjectVersionsCommand({ Bucket: LOCAL_STAGE.extractBucket, Prefix: 'staging/' }));
    return [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((entry) => entry.Key!);
  } finally {
    client.destroy();
    await s3.close();
  }
}
