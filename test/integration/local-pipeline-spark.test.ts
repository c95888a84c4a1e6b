/**
 * `npm start -- --engine spark`: the Glue stand-in runs the production job, glue/etl.py, on a local
 * Spark against a real PostgreSQL, stages to a local folder and uploads it to the S3 stand-in; the
 * month it publishes is the one `--engine duckdb` publishes from the same database.
 *
 * The Spark runs need scripts/setup-spark.sh and TEST_POSTGRES_URL: without them they are skipped,
 * saying why, except under CI=true, where they fail.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { calendarDateIn, formatMonth, lastCompleteMonth, monthWindow } from '../../functions/core/month';
import { manifestKey } from '../../functions/core/extract-keys';
import { parseManifest, type Manifest } from '../../functions/core/manifest';
import { sparkToolchainProblem } from '../../local/glue-spark/spark-jobs';
import { LOCAL_STAGE, sparkLogPath } from '../../local/pipeline/local-stack';
import { withClient } from '../../local/postgres';
import { loadSampleOds } from '../../local/sample/generate';
import { uploadStagedFolder } from '../../local/stand-ins/glue-spark-job';
import { S3_STAND_IN_CREDENTIALS, startS3StandIn } from '../../local/stand-ins/s3';
import { S3StagingSink } from '../../local/stand-ins/s3-staging-sink';
import { realServerDatabase, type TestDatabase } from '../support/databases';
import { cliReport, runExtractCli, type CliRun } from '../support/local-cli';
import { LOAN_EXTRACT } from '../support/run-context';

const TIME_ZONE = 'Africa/Johannesburg';
const month = lastCompleteMonth(new Date(), TIME_ZONE);
const MONTH = formatMonth(month);
/** JVM start and job take ~30 s; the CLI is killed before the test's own timeout. */
const SPARK_CLI_TIMEOUT_MS = 200_000;
const SPARK_TEST_TIMEOUT_MS = 240_000;

const missing = sparkToolchainProblem() ?? (process.env.TEST_POSTGRES_URL ? undefined : 'TEST_POSTGRES_URL is not set (scripts/test-postgres.sh start)');
const inCi = process.env.CI === 'true';
const sparkIt = missing && !inCi ? it.skip : it;
const skipNote = missing && !inCi ? ` (skipped: ${missing})` : '';
if (skipNote) console.warn(`skipping the npm start --engine spark runs: ${missing}`);

let dir: string;
beforeAll(async () => {
  process.env.STAGE_TIME_ZONE = TIME_ZONE;
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-spark-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm start --engine: refused before anything starts', () => {
  it('--engine nonsense: InvalidInput, exit 2', async () => {
    const run = await runExtractCli(['--engine', 'nonsense'], join(dir, 'nonsense'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('✖ InvalidInput: engine: must be one of duckdb, spark, got "nonsense"');
    expect(run.report).toBeUndefined();
  });

  it('--engine spark without --source: InvalidInput, exit 2, saying why the embedded ODS cannot serve Spark', async () => {
    const dataDir = join(dir, 'no-source');
    const run = await runExtractCli(['--engine', 'spark', '--month', MONTH], dataDir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/✖ InvalidInput: engine: spark needs --source postgres:\/\/… \(a real PostgreSQL server\)/);
    expect(run.stderr).toMatch(/pg_export_snapshot/);
    expect(run.stderr).toMatch(/PGlite behind pglite-socket\) is a single PostgreSQL session/);
    expect(run.stdout).not.toMatch(/source:|execution/);
    expect(run.report).toBeUndefined();
    await expect(readdir(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the Spark engine\'s upload of its staging folder', () => {
  it('uploads every file Spark wrote, same keys and bytes, but no Hadoop .crc checksum files', async () => {
    const folder = join(dir, 'staged');
    const files: Record<string, Buffer> = {
      _SUCCESS: Buffer.alloc(0),
      'rows/_SUCCESS': Buffer.alloc(0),
      'rows/bank_id=1/part-00000-a.c000.csv': Buffer.from('bank_name,branch_id\nSociété Générale,1\n'),
      'rows/bank_id=2/part-00001-a.c000.csv': Buffer.alloc(0),
      // Not UTF-8: bytes must not go through a text decoding.
      'entities/part-00000-b-c000.json': Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d, 0x0a]),
    };
    const checksums = ['._SUCCESS.crc', 'rows/._SUCCESS.crc', 'rows/bank_id=1/.part-00000-a.c000.csv.crc', 'entities/.part-00000-b-c000.json.crc'];
    for (const [key, bytes] of [...Object.entries(files), ...checksums.map((key) => [key, Buffer.from('crc')] as const)]) {
      await mkdir(dirname(join(folder, key)), { recursive: true });
      await writeFile(join(folder, key), bytes);
    }
    const bucket = 'spark-upload-test';
    const s3 = await startS3StandIn(join(dir, 's3-store'), [bucket]);
    const client = new S3Client({ endpoint: s3.url, region: LOCAL_STAGE.region, credentials: S3_STAND_IN_CREDENTIALS });
    try {
      const prefix = 'staging/month=2024-03/run=r1/';
      const uploaded = await uploadStagedFolder(folder, new S3StagingSink(client, bucket, prefix));
      expect(uploaded).toEqual(Object.keys(files).sort());
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(Object.keys(files).map((key) => `${prefix}${key}`).sort());
      for (const [key, bytes] of Object.entries(files)) {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${key}` }));
        expect(Buffer.from(await object.Body!.transformToByteArray())).toEqual(bytes);
      }
    } finally {
      client.destroy();
      await s3.close();
    }
  });
});

describe(`npm start --engine spark on a real PostgreSQL${skipNote}`, () => {
  let database: TestDatabase | undefined;
  const needsSpark = () => {
    if (missing) throw new Error(`CI=true but npm start --engine spark cannot run here: ${missing}`);
  };
  afterAll(async () => {
    await database?.drop();
  });

  sparkIt(
    'publishes the same files, byte for byte, and the same manifest as --engine duckdb from the same database',
    async () => {
      needsSpark();
      database = await realServerDatabase();
      const url = database.url;
      await withClient(url, (client) => loadSampleOds(client, { loans: 3000, today: calendarDateIn(new Date(), TIME_ZONE) }));
      const sparkDir = join(dir, 'spark');
      const duckdbDir = join(dir, 'duckdb');
      const [spark, duckdb] = await Promise.all([
        runExtractCli(['--engine', 'spark', '--source', url, '--month', MONTH], sparkDir, SPARK_CLI_TIMEOUT_MS),
        runExtractCli(['--engine', 'duckdb', '--source', url, '--month', MONTH], duckdbDir),
      ]);
      expect([spark.code, duckdb.code]).toEqual([0, 0]);
      expect(cliReport(spark)).toMatchObject({ outcome: 'succeeded', engine: 'spark', ledgerStatus: 'SUCCEEDED', emails: [] });
      expect(cliReport(duckdb)).toMatchObject({ outcome: 'succeeded', engine: 'duckdb', ledgerStatus: 'SUCCEEDED', emails: [] });
      const published = (run: CliRun) => cliReport(run).files.map((f) => [f.key, f.sha256]);
      expect(published(spark)).toHaveLength(3);
      expect(published(spark)).toEqual(published(duckdb));
      expect(await manifestWithoutRun(sparkDir)).toEqual(await manifestWithoutRun(duckdbDir));

      expect(spark.stdout).toContain(`  engine: spark (glue/etl.py on a local Spark; its log: ${sparkLogPath(sparkDir)})`);
      expect(duckdb.stdout).toContain('  engine: duckdb');
      // etl.py ran and logged there; its local staging folder is gone once uploaded.
      expect(await readFile(sparkLogPath(sparkDir), 'utf8')).toContain(`staged under file://${join(sparkDir, 'glue-spark')}/jr_`);
      expect(await readdir(join(sparkDir, 'glue-spark'))).toEqual([]);
    },
    SPARK_TEST_TIMEOUT_MS,
  );

  sparkIt(
    'a Spark job that fails fails the job run with its error; --simulate-failure glue-job fails it without starting Spark',
    async () => {
      needsSpark();
      database ??= await realServerDatabase();
      await withClient(database.url, async (client) => {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'loans'`);
        if (rows[0]!.n === '0') await loadSampleOds(client, { loans: 300, today: calendarDateIn(new Date(), TIME_ZONE) });
        await client.query('ALTER TABLE loans DROP COLUMN amount');
      });
      const simulatedDir = join(dir, 'spark-simulated');
      const simulated = await runExtractCli(['--engine', 'spark', '--source', database.url, '--month', MONTH, '--simulate-failure', 'glue-job'], simulatedDir);
      expect(simulated.code).toBe(1);
      expect(cliReport(simulated)).toMatchObject({ outcome: 'failed', error: 'ExtractJobFailed', ledgerStatus: 'FAILED', files: [] });
      expect(cliReport(simulated).cause).toContain('Simulated Spark failure (--simulate-failure glue-job)');
      await expect(readFile(sparkLogPath(simulatedDir))).rejects.toMatchObject({ code: 'ENOENT' });

      const failedDir = join(dir, 'spark-failed');
      const failed = await runExtractCli(['--engine', 'spark', '--source', database.url, '--month', MONTH], failedDir, SPARK_CLI_TIMEOUT_MS);
      expect(failed.code).toBe(1);
      expect(cliReport(failed)).toMatchObject({ outcome: 'failed', error: 'ExtractJobFailed', ledgerStatus: 'FAILED', files: [] });
      expect(cliReport(failed).cause).toMatch(/ended FAILED: org\.postgresql\.util\.PSQLException: ERROR: column l\.amount does not exist/);
      expect(cliReport(failed).emails).toHaveLength(1);
      expect(await readdir(join(failedDir, 'glue-spark')).catch(() => [])).toEqual([]);
    },
    SPARK_TEST_TIMEOUT_MS,
  );
});

/** The month's published manifest, but for what differs from run to run. */
/** The manifest less what belongs to the run itself: its id, time and cost (a Spark job polls longer than DuckDB). */
async function manifestWithoutRun(dataDir: string): Promise<Partial<Manifest>> {
  const key = manifestKey(LOAN_EXTRACT, monthWindow(month));
  const manifest = parseManifest(await readFile(join(dataDir, 's3', LOCAL_STAGE.extractBucket, key), 'utf8'));
  expect(manifest.estimatedCost?.total).toMatch(/^\d+\.\d{6}$/);
  return Object.fromEntries(Object.entries(manifest).filter(([field]) => !['runId', 'generatedAt', 'estimatedCost'].includes(field)));
}
