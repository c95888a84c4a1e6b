import {
  CrawlerRunningException,
  GetCrawlerCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  StartCrawlerCommand,
  StartJobRunCommand,
} from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SdkGlueApi } from '../../functions/commons/clients/glue-api';
import {
  extractJobArguments,
  getCrawlerProgress,
  getExtractJobProgress,
  startCrawler,
  startExtractJob,
} from '../../functions/core/glue-steps';
import type { RunContext } from '../../functions/core/run-context';
import { recordedEvent } from './lambda-harness';

const glueMock = mockClient(GlueClient);
const glue = new SdkGlueApi(new GlueClient({ region: 'af-south-1' }));
const CRAWLER = 'monthly-loan-extract-prod-ods';
const JOB = 'monthly-loan-extract-prod';
const BUCKET = 'monthly-loan-extract-prod-extracts';
const { run } = recordedEvent<{ run: RunContext }>('start-extract-job.json');

beforeEach(() => glueMock.reset());

describe('crawling the ODS', () => {
  it('starts the crawler', async () => {
    glueMock.on(StartCrawlerCommand).resolves({});
    await expect(startCrawler(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, alreadyRunning: false });
    expect(glueMock).toHaveReceivedCommandWith(StartCrawlerCommand, { Name: CRAWLER });
  });

  it('a crawler that is already running is waited for, not an error', async () => {
    glueMock.on(StartCrawlerCommand).rejects(new CrawlerRunningException({ message: 'Crawler with name ... has already started', $metadata: {} }));
    await expect(startCrawler(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, alreadyRunning: true });
  });

  it('other start errors fail the step', async () => {
    glueMock.on(StartCrawlerCommand).rejects(Object.assign(new Error('Crawler entry with name x does not exist'), { name: 'EntityNotFoundException' }));
    await expect(startCrawler(glue, CRAWLER)).rejects.toMatchObject({ name: 'EntityNotFoundException' });
  });

  it.each(['RUNNING', 'STOPPING'] as const)('a %s crawler means wait', async (State) => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { Name: CRAWLER, State, LastCrawl: { Status: 'FAILED' } } });
    await expect(getCrawlerProgress(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, state: State, done: false });
  });

  it('a READY crawler whose last crawl succeeded is done', async () => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { Name: CRAWLER, State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } });
    await expect(getCrawlerProgress(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, state: 'READY', done: true });
  });

  it.each(['FAILED', 'CANCELLED'] as const)('a READY crawler whose last crawl %s fails the run with the crawler\'s message', async (Status) => {
    glueMock.on(GetCrawlerCommand).resolves({
      Crawler: {
        Name: CRAWLER,
        State: 'READY',
        LastCrawl: { Status, ErrorMessage: 'Unable to connect to jdbc:postgresql://ods:5432/ods', LogGroup: '/aws-glue/crawlers', LogStream: CRAWLER },
      },
    });
    await expect(getCrawlerProgress(glue, CRAWLER)).rejects.toMatchObject({
      name: 'CrawlerFailed',
      message: `Glue crawler ${CRAWLER} finished ${Status}: Unable to connect to jdbc:postgresql://ods:5432/ods (logs: /aws-glue/crawlers/${CRAWLER})`,
    });
  });

  it('a READY crawler that never crawled is an error, not success', async () => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { Name: CRAWLER, State: 'READY' } });
    await expect(getCrawlerProgress(glue, CRAWLER)).rejects.toMatchObject({ name: 'CrawlerFailed', message: expect.stringContaining('no record of a crawl') });
  });
});

describe('the Spark extract job', () => {
  it('is started with the arguments glue/etl.py takes', () => {
    expect(extractJobArguments(run, BUCKET)).toEqual({
      '--month': '2024-03',
      '--window_start': '2024-01-01',
      '--month_start': '2024-03-01',
      '--window_end': '2024-04-01',
      '--staging_path': `s3://${BUCKET}/staging/month=2024-03/run=${run.runId}/`,
      '--run_id': run.runId,
    });
  });

  it('starts one run and returns its id', async () => {
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [{ Id: 'jr_old', JobRunState: 'SUCCEEDED', Arguments: { '--run_id': 'another-run' } }] });
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: 'jr_new' });
    await expect(startExtractJob(glue, JOB, run, BUCKET)).resolves.toEqual({ jobName: JOB, jobRunId: 'jr_new', reused: false });
    expect(glueMock).toHaveReceivedCommandWith(StartJobRunCommand, { JobName: JOB, Arguments: extractJobArguments(run, BUCKET) });
  });

  it('a retried start finds the run its first try started instead of starting a second Spark job', async () => {
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [{ Id: 'jr_first', JobRunState: 'RUNNING', Arguments: { '--run_id': run.runId } }] });
    await expect(startExtractJob(glue, JOB, run, BUCKET)).resolves.toEqual({ jobName: JOB, jobRunId: 'jr_first', reused: true });
    expect(glueMock).not.toHaveReceivedCommand(StartJobRunCommand);
  });

  it.each(['STARTING', 'RUNNING', 'STOPPING', 'WAITING'] as const)('a %s run means wait', async (JobRunState) => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState } });
    await expect(getExtractJobProgress(glue, JOB, 'jr_1')).resolves.toEqual({ jobName: JOB, jobRunId: 'jr_1', state: JobRunState, done: false });
    expect(glueMock).toHaveReceivedCommandWith(GetJobRunCommand, { JobName: JOB, RunId: 'jr_1' });
  });

  it('a SUCCEEDED run is done', async () => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'SUCCEEDED' } });
    await expect(getExtractJobProgress(glue, JOB, 'jr_1')).resolves.toMatchObject({ done: true, state: 'SUCCEEDED' });
  });

  it.each(['FAILED', 'TIMEOUT', 'STOPPED', 'ERROR', 'EXPIRED'] as const)('a %s run fails the run, naming the state and Glue\'s message', async (JobRunState) => {
    glueMock.on(GetJobRunCommand).resolves({
      JobRun: { Id: 'jr_1', JobRunState, ErrorMessage: 'An error occurred while calling o112.jdbc. Connection refused' },
    });
    await expect(getExtractJobProgress(glue, JOB, 'jr_1')).rejects.toMatchObject({
      name: 'ExtractJobFailed',
      message: `Glue job ${JOB} run jr_1 ended ${JobRunState}: An error occurred while calling o112.jdbc. Connection refused`,
    });
  });

  it('a state Glue adds later is an error, never mistaken for success', async () => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'PAUSED' as never } });
    await expect(getExtractJobProgress(glue, JOB, 'jr_1')).rejects.toMatchObject({
      name: 'ExtractJobFailed',
      message: `Glue job ${JOB} run jr_1 is in an unexpected state PAUSED: no error message given`,
    });
  });
});
