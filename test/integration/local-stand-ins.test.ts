/**
 * The AWS stand-ins behave as the real services do for the calls the handlers make, through the
 * same SDK clients: what the end-to-end runs rely on without looking.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCrawlerCommand, GetJobRunCommand, GetJobRunsCommand, GlueClient, StartCrawlerCommand, StartJobRunCommand } from '@aws-sdk/client-glue';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { startEmbeddedOds, type EmbeddedOds } from '../../local/ods';
import { startGlueStandIn, type GlueStandIn } from '../../local/stand-ins/glue';
import { S3_STAND_IN_CREDENTIALS, startS3StandIn, type S3StandIn } from '../../local/stand-ins/s3';
import { startSnsStandIn } from '../../local/stand-ins/sns';

const credentials = S3_STAND_IN_CREDENTIALS;
const BUCKET = 'stand-in-test-bucket';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-stand-ins-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('S3 stand-in', () => {
  let s3: S3StandIn;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startS3StandIn(join(dir, 's3'), [BUCKET]);
    client = new S3Client({ endpoint: s3.url, region: 'af-south-1', credentials });
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
  });

  const put = (Key: string, Body: string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
  const get = async (Key: string) => (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToString();

  it('copies from a key with "=" in it, URL-encoded as S3 requires', async () => {
    await put('staging/month=2024-03/run=r1/rows/bank_id=1/part-0.csv', 'a,b\n');
    await client.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'extracts/bank_name=X/X.csv', CopySource: `${BUCKET}/staging/month%3D2024-03/run%3Dr1/rows/bank_id%3D1/part-0.csv` }),
    );
    expect(await get('extracts/bank_name=X/X.csv')).toBe('a,b\n');
  });

  it('refuses writes under a denied prefix with AccessDenied, and only there', async () => {
    s3.denyWritesUnder(BUCKET, 'extracts/');
    try {
      await expect(put('extracts/denied.csv', 'x')).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(put('staging/allowed.csv', 'x')).resolves.toBeDefined();
    } finally {
      s3.denyWritesUnder(BUCKET, undefined);
    }
    await expect(put('extracts/allowed-again.csv', 'x')).resolves.toBeDefined();
  });

  it('mirrors a prefix as plain files at their keys, and removes files whose object is gone', async () => {
    const folder = join(dir, 'plain');
    expect(await s3.mirrorPrefix(BUCKET, 'extracts/', folder)).toEqual(['extracts/allowed-again.csv', 'extracts/bank_name=X/X.csv']);
    expect(await readFile(join(folder, 'extracts', 'bank_name=X', 'X.csv'), 'utf8')).toBe('a,b\n');
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'extracts/allowed-again.csv' }));
    await s3.mirrorPrefix(BUCKET, 'extracts/', folder);
    expect(await readdir(join(folder, 'extracts'))).toEqual(['bank_name=X']);
  });
});

describe('Glue stand-in', () => {
  let ods: EmbeddedOds;
  let glue: GlueStandIn;
  let client: GlueClient;
  let s3: S3Client;
  beforeAll(async () => {
    ods = await startEmbeddedOds();
    // No job here gets as far as writing staging output; this endpoint refuses connections if one did.
    s3 = new S3Client({ endpoint: 'http://127.0.0.1:9', region: 'af-south-1', credentials });
    glue = await startGlueStandIn({
      crawlerName: 'ods',
      jobNamePrefix: 'job-',
      env: { EXTRACTS_PATH: 'test/fixtures/extracts' },
      sourceUrl: ods.url,
      sourceSchema: 'public',
      catalogDir: join(dir, 'catalog'),
      s3,
    });
    client = new GlueClient({ endpoint: glue.url, region: 'af-south-1', credentials });
  });
  afterAll(async () => {
    client.destroy();
    await glue.idle();
    await glue.close();
    s3.destroy();
    await ods.stop();
  });

  it('answers for an unknown crawler or job with EntityNotFoundException', async () => {
    await expect(client.send(new GetCrawlerCommand({ Name: 'nope' }))).rejects.toMatchObject({ name: 'EntityNotFoundException' });
    await expect(client.send(new StartJobRunCommand({ JobName: 'nope' }))).rejects.toMatchObject({ name: 'EntityNotFoundException' });
    // A job per extract the folders hold: job-<id>; no folder, no job.
    await expect(client.send(new StartJobRunCommand({ JobName: 'job-no-such-extract' }))).rejects.toMatchObject({ name: 'EntityNotFoundException' });
    await expect(client.send(new GetJobRunsCommand({ JobName: 'job-loan-moving-average' }))).resolves.toMatchObject({ JobRuns: [] });
    await expect(client.send(new GetJobRunsCommand({ JobName: 'job-client-activity' }))).resolves.toMatchObject({ JobRuns: [] });
  });

  it('refuses a second start while the crawler runs, and a crawl of an empty schema ends FAILED saying why', async () => {
    await client.send(new StartCrawlerCommand({ Name: 'ods' }));
    await expect(client.send(new StartCrawlerCommand({ Name: 'ods' }))).rejects.toMatchObject({ name: 'CrawlerRunningException' });
    await glue.idle();
    const { Crawler } = await client.send(new GetCrawlerCommand({ Name: 'ods' }));
    expect(Crawler).toMatchObject({ State: 'READY', LastCrawl: { Status: 'FAILED', ErrorMessage: 'schema "public" of the ODS has no tables' } });
  });

  it('fails a job run whose window does not belong to its month, naming the argument', async () => {
    const { JobRunId } = await client.send(
      new StartJobRunCommand({
        JobName: 'job-loan-moving-average',
        Arguments: { '--month': '2024-03', '--window_start': '2024-02-01', '--month_start': '2024-03-01', '--window_end': '2024-04-01', '--staging_path': 's3://b/p/', '--run_id': 'r' },
      }),
    );
    await glue.idle();
    const { JobRun } = await client.send(new GetJobRunCommand({ JobName: 'job-loan-moving-average', RunId: JobRunId }));
    expect(JobRun).toMatchObject({ JobRunState: 'FAILED', ErrorMessage: 'Error: --window_start is "2024-02-01", but month 2024-03 needs 2024-01-01' });
    // The job's DefaultArguments name its extract, as the deployed job's do.
    expect(JobRun!.Arguments).toMatchObject({ '--extract_id': 'loan-moving-average' });
    // A run is its job's: another extract's job does not know it.
    await expect(client.send(new GetJobRunCommand({ JobName: 'job-client-activity', RunId: JobRunId }))).rejects.toMatchObject({ name: 'EntityNotFoundException' });
  });

  it('fails a job run told to run another extract than its job\'s, as etl.py does', async () => {
    const { JobRunId } = await client.send(
      new StartJobRunCommand({
        JobName: 'job-client-activity',
        Arguments: { '--extract_id': 'loan-moving-average', '--month': '2024-03', '--window_start': '2024-01-01', '--month_start': '2024-03-01', '--window_end': '2024-04-01', '--staging_path': 's3://b/p/', '--run_id': 'r' },
      }),
    );
    await glue.idle();
    const { JobRun } = await client.send(new GetJobRunCommand({ JobName: 'job-client-activity', RunId: JobRunId }));
    expect(JobRun).toMatchObject({
      JobRunState: 'FAILED',
      ErrorMessage: 'Error: the job job-client-activity runs extract client-activity, but --extract_id is "loan-moving-average"',
    });
  });
});

describe('SNS stand-in', () => {
  it('writes each published alert as an email in the outbox, and refuses an unknown topic', async () => {
    const outboxDir = join(dir, 'outbox');
    const topicArn = 'arn:aws:sns:af-south-1:000000000000:alerts';
    const sns = await startSnsStandIn({ topicArn, subscriber: 'data-support@mybigbank.co.za', outboxDir });
    const client = new SNSClient({ endpoint: sns.url, region: 'af-south-1', credentials });
    try {
      await client.send(new PublishCommand({ TopicArn: topicArn, Subject: 'Loan extract failed', Message: 'Step: X\nCause: é' }));
      await expect(client.send(new PublishCommand({ TopicArn: `${topicArn}-other`, Message: 'x' }))).rejects.toMatchObject({ name: 'NotFoundException' });
      const [email, ...others] = await readdir(outboxDir);
      expect(others).toEqual([]);
      const text = await readFile(join(outboxDir, email!), 'utf8');
      expect(text).toMatch(/^To: data-support@mybigbank\.co\.za\r$/m);
      expect(text).toMatch(/^Subject: Loan extract failed\r$/m);
      expect(text.endsWith('\r\n\r\nStep: X\nCause: é\r\n')).toBe(true);
    } finally {
      client.destroy();
      await sns.close();
    }
  });
});
