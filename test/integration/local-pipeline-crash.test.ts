/**
 * A run that DIES while publishing (the process killed with SIGKILL after its Nth write to a final
 * key, `--simulate-crash N`), then the runs after it: the month's final keys always match one
 * manifest, the dead run's half-written files are rolled back (or kept, when its manifest was
 * written), and the month is not blocked. Contract section 3: "A file appears under its final key
 * complete or not at all"; a failed run "leaves the previous files of that month as they were".
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_STAGE } from '../../local/pipeline/local-stack';
import { readPublishedMonth } from '../../local/pipeline/published-month';
import { S3_STAND_IN_CREDENTIALS, startS3StandIn } from '../../local/stand-ins/s3';
import { cliReport, runExtractCli, type CliRun } from '../support/local-cli';

const MONTH = '2024-06';
// The sample is seeded by day and size: a second size is "changed data" for the same month.
const SAMPLE = ['--month', MONTH, '--sample-date', '2024-07-15'];
const BEFORE = [...SAMPLE, '--loans', '3000'];
const CHANGED = [...SAMPLE, '--loans', '4000'];
/** 3 banks' files, then the manifest: the 4 writes of a publish under extracts/. */
const WRITES = 4;

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'extract-crash-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** What the data dir publishes for the month: file → SHA-256, checked against its manifest. */
async function published(): Promise<{ runId: string; files: Record<string, string> } | undefined> {
  const month = await readPublishedMonth(join(dataDir, 's3', 'monthly-loan-extract-local-extracts'), MONTH);
  if (!month) return undefined;
  for (const file of month.files) expect({ key: file.key, matches: file.matchesManifest }).toEqual({ key: file.key, matches: true });
  return { runId: month.runId, files: Object.fromEntries(month.files.map((f) => [f.key, f.sha256])) };
}

/** SIGKILL: 128 + 9 (tsx, the process started, reports its child's death as that exit code). */
function expectKilled(run: CliRun): void {
  expect({ code: run.code, ended: /● Done|^✔ |^✖ /m.test(run.stdout) }).toEqual({ code: 137, ended: false });
}

describe('a forced re-publish over changed data, killed in the middle of publishing', () => {
  it.each([1, 2, 3])(
    'killed after write %i of 4: the next run rolls the dead run back, and the month\'s files are the previous manifest\'s',
    async (writes) => {
      const first = cliReport(await runExtractCli(BEFORE, dataDir));
      expect(first.outcome).toBe('succeeded');
      const before = await published();

      expectKilled(await runExtractCli([...CHANGED, '--force', '--simulate-crash', String(writes)], dataDir));

      // The next run finds the month held by a dead process: released (NotifyFailure's status-change
      // path, which settles its unfinished publish), then this run fails before publishing anything.
      const next = await runExtractCli([...CHANGED, '--simulate-failure', 'glue-job'], dataDir);
      expect(next.stdout).toMatch(/released loan-moving-average 2024-06 from execution [\w-]+ .*\n\s+The unfinished publish of run [\w-]+ was rolled back/);
      const released = cliReport(next).released!;
      expect(released.emails).toHaveLength(1);
      const email = await readFile(released.emails[0]!, 'utf8');
      expect(email).toMatch(/unfinished publish of run [\w-]+ was rolled back/);
      expect(await published()).toEqual(before);

      // And the month runs again normally.
      const last = cliReport(await runExtractCli(CHANGED, dataDir));
      expect(last.outcome).toBe('succeeded');
      const after = await published();
      expect(after!.runId).toBe(last.executionName);
      expect(Object.keys(after!.files)).toEqual(Object.keys(before!.files));
    },
    240_000,
  );

  it('killed after its manifest was written (write 4 of 4): its files stand, consistent with its manifest', async () => {
    cliReport(await runExtractCli(BEFORE, dataDir));
    const before = await published();

    expectKilled(await runExtractCli([...CHANGED, '--force', '--simulate-crash', String(WRITES)], dataDir));
    const next = await runExtractCli([...CHANGED, '--simulate-failure', 'glue-job'], dataDir);
    const email = await readFile(cliReport(next).released!.emails[0]!, 'utf8');
    expect(email).toMatch(/publish of run [\w-]+ had completed/);
    const after = await published();
    expect(after!.runId).not.toBe(before!.runId);
    expect(after!.files).not.toEqual(before!.files);
  }, 240_000);
});

describe('a new month, killed in the middle of its first publish', () => {
  it('leaves no file of the month once the next run has settled it, then publishes normally', async () => {
    expectKilled(await runExtractCli([...BEFORE, '--simulate-crash', '2'], dataDir));

    const next = await runExtractCli([...BEFORE, '--simulate-failure', 'glue-job'], dataDir);
    expect(cliReport(next).released).toBeDefined();
    expect(await published()).toBeUndefined();

    expect(cliReport(await runExtractCli(BEFORE, dataDir)).outcome).toBe('succeeded');
    expect(Object.keys((await published())!.files)).toHaveLength(3);
  }, 240_000);
});

describe('a published file that no longer matches its manifest', () => {
  it('is reported by the next run, which exits non-zero', async () => {
    const first = cliReport(await runExtractCli(BEFORE, dataDir));
    const key = first.files[0]!.key;
    // Someone writes over a final key behind the pipeline's back.
    const s3 = await startS3StandIn(join(dataDir, 's3-store'), [{ name: LOCAL_STAGE.extractBucket, versioned: true }]);
    const client = new S3Client({ endpoint: s3.url, region: LOCAL_STAGE.region, credentials: S3_STAND_IN_CREDENTIALS });
    try {
      await client.send(new PutObjectCommand({ Bucket: LOCAL_STAGE.extractBucket, Key: key, Body: 'not the published file\n' }));
    } finally {
      client.destroy();
      await s3.close();
    }

    const next = await runExtractCli(BEFORE, dataDir);
    expect(cliReport(next).outcome).toBe('skipped');
    expect(next.code).toBe(1);
    expect(next.stdout).toContain('DOES NOT MATCH THE MANIFEST');
    expect(cliReport(next)).toMatchObject({ mismatchedFiles: [key] });
  }, 120_000);
});

