/**
 * The state machine run end to end over the real handlers (AWS mocked) in aws-local-stepfunctions:
 * checks that what each state passes is what the next Lambda expects, and what an operator sees at
 * the end of each kind of execution.
 */
import { GetCrawlerCommand, GetJobRunCommand, GetJobRunsCommand, GlueClient, StartCrawlerCommand, StartJobRunCommand } from '@aws-sdk/client-glue';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { PublishOutput } from '../../functions/core/complete-run';
import type { RunContext } from '../../functions/core/run-context';
import { successfulRunLambdaRequests, successfulRunTransitions } from '../../functions/core/run-cost';
import type { MonthRecord } from '../../functions/core/run-ledger';
import { runStateMachine, type RunResult } from './state-machine-harness';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';
import { captureLogs, recordedEvent } from './lambda-harness';

const table = useLedgerTable();
const glue = mockClient(GlueClient);
const sns = mockClient(SNSClient);
const s3 = mockClient(S3Client);
const LOAN_JSON = readFileSync(join(__dirname, '..', '..', 'extracts', 'loan-moving-average', 'extract.json'), 'utf8');
const published = recordedEvent<{ published: PublishOutput }>('complete-run.json').published;
const MACHINE = 'arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-test';

type Handler = (event: never) => Promise<unknown>;
let tasks: Record<string, (payload: unknown) => Promise<unknown>>;
let publishedFor: RunContext[];
let usages: unknown[];

beforeAll(async () => {
  Object.assign(process.env, {
    RUN_LEDGER_TABLE: LEDGER_TABLE,
    RUN_LEASE_MINUTES: '360',
    EXTRACT_DEFINITIONS_BUCKET: 'scripts',
    EXTRACT_IDS: 'loan-moving-average',
    STAGE: 'test',
    AWS_REGION: 'af-south-1',
    ALERT_TOPIC_ARN: 'arn:aws:sns:af-south-1:123456789012:alerts',
    GLUE_CRAWLER_NAME: 'ods-crawler',
    GLUE_JOB_NAME_PREFIX: 'extract-job-',
    EXTRACT_BUCKET: 'extracts',
  });
  const handlers: Record<string, Handler> = {
    ResolveRun: (await import('../../functions/resolve-run')).functionHandler,
    StartCrawler: (await import('../../functions/start-crawler')).functionHandler,
    GetCrawlerState: (await import('../../functions/get-crawler-state')).functionHandler,
    StartExtractJob: (await import('../../functions/start-extract-job')).functionHandler,
    GetExtractJobState: (await import('../../functions/get-extract-job-state')).functionHandler,
    CompleteRun: (await import('../../functions/complete-run')).functionHandler,
    NotifyFailure: (await import('../../functions/notify-failure')).functionHandler,
  };
  tasks = {
    ...Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, (payload: unknown) => handler(payload as never)])),
    // The colleague's publish step is stubbed with its recorded output.
    PublishExtracts: async (payload) => {
      publishedFor.push((payload as { run: RunContext }).run);
      usages.push((payload as { usage?: unknown }).usage);
      return published;
    },
  };
});

afterAll(() => s3.restore());

beforeEach(() => {
  glue.reset();
  sns.reset();
  // The scripts bucket: the loan extract's definition as deployed, and nothing else.
  s3.reset();
  s3.on(HeadObjectCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
  s3.on(HeadObjectCommand, { Bucket: 'scripts', Key: 'extracts/loan-moving-average/extract.json' }).resolves({ ContentLength: LOAN_JSON.length });
  s3.on(GetObjectCommand, { Bucket: 'scripts', Key: 'extracts/loan-moving-average/extract.json' }).callsFake(() => ({ Body: Readable.from([Buffer.from(LOAN_JSON)]) }));
  publishedFor = [];
  usages = [];
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
  glue.on(StartCrawlerCommand).resolves({});
  glue.on(GetCrawlerCommand)
    .resolvesOnce({ Crawler: { State: 'RUNNING' } })
    .resolves({ Crawler: { State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } });
  glue.on(GetJobRunsCommand).resolves({ JobRuns: [] });
  glue.on(StartJobRunCommand).resolves({ JobRunId: 'jr_1' });
  glue.on(GetJobRunCommand)
    .resolvesOnce({ JobRun: { Id: 'jr_1', JobRunState: 'RUNNING' } })
    .resolves({ JobRun: { Id: 'jr_1', JobRunState: 'SUCCEEDED', ExecutionTime: 95, WorkerType: 'G.1X', NumberOfWorkers: 10 } });
});

async function execute(input: unknown, name = 'exec-1'): Promise<RunResult> {
  const logs = captureLogs();
  try {
    return await runStateMachine(input, {
      tasks,
      execution: { Id: `${MACHINE}:${name}`, Name: name, StartTime: new Date().toISOString() },
    });
  } finally {
    logs.restore();
  }
}

const monthItem = async () => (await table.item('extract#loan-moving-average#month#2024-03')) as unknown as MonthRecord;
const emails = () => sns.commandCalls(PublishCommand).map((call) => call.args[0].input);

describe('monthly-extract, executed', () => {
  it('a month runs through crawl, job, publish and ledger, and the output says what was published', async () => {
    const result = await execute({ month: '2024-03' });
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        outcome: 'succeeded',
        month: '2024-03',
        runId: 'exec-1',
        fileCount: 3,
        message: 'Published 3 files for 2024-03 (200 rows); manifest extracts/_manifests/year=2024/month=03/manifest.json.',
      },
    });
    expect(result.path.filter((state) => state === 'GetCrawlerState')).toHaveLength(2);
    expect(result.path.filter((state) => state === 'GetExtractJobState')).toHaveLength(2);
    expect(glue).toHaveReceivedCommandWith(StartJobRunCommand, { JobName: 'extract-job-loan-moving-average', Arguments: expect.objectContaining({ '--run_id': 'exec-1', '--month': '2024-03' }) });
    expect(glue).toHaveReceivedCommandWith(GetJobRunCommand, { JobName: 'extract-job-loan-moving-average', RunId: 'jr_1' });
    expect(publishedFor).toEqual([expect.objectContaining({ month: '2024-03', runId: 'exec-1', stagingPrefix: 'staging/extract=loan-moving-average/month=2024-03/run=exec-1/' })]);
    expect(await monthItem()).toMatchObject({ status: 'SUCCEEDED', executionArn: `${MACHINE}:exec-1`, stats: { fileCount: 3 } });
    expect(emails()).toHaveLength(0);
  });

  it("hands PublishExtracts the run's poll counts and the job's DPU-seconds, which price exactly the transitions and Lambda requests it took", async () => {
    const result = await execute({ month: '2024-03' });
    expect(usages).toEqual([{ crawlerPolls: 2, extractJobPolls: 2, glueDpuSeconds: 950 }]);
    // Step Functions bills every state entered; the cost counts them from the poll counts.
    expect(result.path).toHaveLength(successfulRunTransitions(2, 2));
    const lambdaStates = new Set(['ResolveRun', 'StartCrawler', 'GetCrawlerState', 'StartExtractJob', 'GetExtractJobState', 'PublishExtracts', 'CompleteRun']);
    expect(result.path.filter((state) => lambdaStates.has(state))).toHaveLength(successfulRunLambdaRequests(2, 2));
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { durationSeconds: expect.any(Number) } });
  });

  it('a month that already succeeded ends succeeded, says it was skipped, and starts nothing', async () => {
    await execute({ month: '2024-03' }, 'exec-1');
    glue.resetHistory();
    const result = await execute({ month: '2024-03' }, 'exec-2');
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'skipped', message: expect.stringMatching(/^Skipped: loan-moving-average 2024-03 already succeeded/) } });
    expect(result.path).toEqual(['ReadInput', 'ResolveRun', 'RunOrSkip', 'MonthAlreadySucceeded']);
    expect(glue.calls()).toHaveLength(0);
  });

  it('a month in progress elsewhere ends succeeded naming the holder, with no email and the holder untouched', async () => {
    const logs = captureLogs();
    await tasks.ResolveRun!({ input: { month: '2024-03' }, executionArn: `${MACHINE}:holder`, executionName: 'holder' }).finally(logs.restore);
    const before = (await monthItem());
    const result = await execute({ month: '2024-03' }, 'exec-2');
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: 'busy', holderExecutionArn: `${MACHINE}:holder`, message: expect.stringContaining(`being extracted by execution ${MACHINE}:holder`) },
    });
    expect(emails()).toHaveLength(0);
    expect(await monthItem()).toEqual(before);
  });

  it('bad input ends the execution failed with InvalidInput and the field in the cause, after one email', async () => {
    const result = await execute({ month: '2024-13' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: 'month: "2024-13" has month 13; months run from 01 to 12' });
    expect(emails()).toHaveLength(1);
    expect(emails()[0]!.Subject).toBe('[test] loan-moving-average (no month) failed at ResolveRun: InvalidInput');
    expect(glue.calls()).toHaveLength(0);
  });

  it('unknown keys fail the same way, naming the key', async () => {
    const result = await execute({ month: '2024-03', forse: true });
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInput', cause: expect.stringMatching(/^forse: unknown field/) });
  });

  it('a failed Glue job ends the execution with its error, emails once naming the step, and frees the month', async () => {
    glue.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'FAILED', ErrorMessage: 'Connection refused' } });
    const result = await execute({ month: '2024-03' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'ExtractJobFailed', cause: 'Glue job extract-job-loan-moving-average run jr_1 ended FAILED: Connection refused' });
    expect(emails().map((email) => email.Subject)).toEqual(['[test] loan-moving-average 2024-03 failed at GetExtractJobState: ExtractJobFailed']);
    expect(await monthItem()).toMatchObject({ status: 'FAILED', lastError: { failedStep: 'GetExtractJobState', executionArn: `${MACHINE}:exec-1` } });
    expect(publishedFor).toEqual([]);
  });

  it('a crawler that never finishes stops the run at the ceiling, with an email and the month freed', async () => {
    glue.on(GetCrawlerCommand).resolves({ Crawler: { State: 'RUNNING' } });
    const result = await execute({ month: '2024-03' });
    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'CrawlerWaitExceeded',
      cause: 'Glue crawler ods-crawler was still running after 60 polls, so the run stopped waiting. Check the crawler in the Glue console before re-running.',
    });
    expect(result.path.filter((state) => state === 'GetCrawlerState')).toHaveLength(60);
    expect(emails()[0]!.Subject).toBe('[test] loan-moving-average 2024-03 failed at WaitForCrawler: CrawlerWaitExceeded');
    expect(await monthItem()).toMatchObject({ status: 'FAILED' });
    expect(glue).not.toHaveReceivedCommand(StartJobRunCommand);
  });

  it('a job that never finishes stops at its ceiling too', async () => {
    glue.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'RUNNING' } });
    const result = await execute({ month: '2024-03' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'ExtractJobWaitExceeded', cause: expect.stringContaining('Glue job run jr_1 of extract-job-loan-moving-average was still running after 240 polls') });
    expect(result.path.filter((state) => state === 'GetExtractJobState')).toHaveLength(240);
  });

  it('when the failure email cannot be sent the execution still fails, as NotificationFailed', async () => {
    glue.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'ERROR' } });
    sns.on(PublishCommand).rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));
    const result = await execute({ month: '2024-03' });
    expect(result).toMatchObject({ status: 'FAILED', error: 'NotificationFailed' });
    // Released, so the status-change event can still send it.
    expect(((await table.item(`notice#${MACHINE}:exec-1`)) !== undefined)).toBe(false);
  });
});
