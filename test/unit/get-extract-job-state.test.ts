import { GetJobRunCommand, GlueClient } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { getExtractJobState, type JobProgress } from '../../functions/core/get-extract-job-state';
import { SdkGlueApi } from '../../functions/commons/clients/glue-api';
import type { RunContext } from '../../functions/core/run-context';
import { findExtract } from '../../extracts/folders';
import { runContextFor } from '../support/run-context';
import { invokeQuietly, lambdaContext, recordedEvent } from './lambda-harness';

type Event = { run: RunContext; jobRunId: string };
const glueMock = mockClient(GlueClient);
const glue = new SdkGlueApi(new GlueClient({ region: 'af-south-1' }));
const event = recordedEvent<Event>('get-extract-job-state.json');
let handler: (event: Event, context: typeof lambdaContext) => Promise<JobProgress>;

beforeAll(async () => {
  process.env.GLUE_JOB_NAME_PREFIX = 'monthly-loan-extract-test-';
  ({ handler } = await import('../../functions/get-extract-job-state'));
});
beforeEach(() => glueMock.reset());

function poll() {
  return invokeQuietly(handler, event);
}

describe('GetExtractJobState handler', () => {
  it('polls the run the state machine carries and reports it not done while RUNNING', async () => {
    glueMock.on(GetJobRunCommand, { JobName: 'monthly-loan-extract-test-loan-moving-average', RunId: event.jobRunId }).resolves({ JobRun: { Id: event.jobRunId, JobRunState: 'RUNNING' } });
    await expect(poll()).resolves.toEqual({ jobName: 'monthly-loan-extract-test-loan-moving-average', jobRunId: event.jobRunId, state: 'RUNNING', done: false });
  });

  it("polls the job of the run's own extract", async () => {
    const clientActivity = findExtract('client-activity', { EXTRACTS_PATH: 'test/fixtures/extracts' }).definition;
    const other = { ...event, run: runContextFor('2024-03', event.run.runId, { extract: clientActivity }) };
    glueMock.on(GetJobRunCommand, { JobName: 'monthly-loan-extract-test-client-activity', RunId: event.jobRunId }).resolves({ JobRun: { Id: event.jobRunId, JobRunState: 'SUCCEEDED' } });
    await expect(invokeQuietly(handler, other)).resolves.toMatchObject({ jobName: 'monthly-loan-extract-test-client-activity', state: 'SUCCEEDED', done: true });
  });

  it('fails with ExtractJobFailed naming the state and Glue\'s message', async () => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: event.jobRunId, JobRunState: 'TIMEOUT', ErrorMessage: 'Job run timed out after 240 minutes' } });
    await expect(poll()).rejects.toMatchObject({ name: 'ExtractJobFailed', message: expect.stringContaining('ended TIMEOUT: Job run timed out after 240 minutes') });
  });
});

describe('getExtractJobState', () => {
  const JOB = 'monthly-loan-extract-prod';

  it.each(['STARTING', 'RUNNING', 'STOPPING', 'WAITING'] as const)('a %s run means wait', async (JobRunState) => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState } });
    await expect(getExtractJobState(glue, JOB, 'jr_1')).resolves.toEqual({ jobName: JOB, jobRunId: 'jr_1', state: JobRunState, done: false });
    expect(glueMock).toHaveReceivedCommandWith(GetJobRunCommand, { JobName: JOB, RunId: 'jr_1' });
  });

  it('a SUCCEEDED run is done', async () => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'SUCCEEDED' } });
    await expect(getExtractJobState(glue, JOB, 'jr_1')).resolves.toMatchObject({ done: true, state: 'SUCCEEDED' });
  });

  it.each(['FAILED', 'TIMEOUT', 'STOPPED', 'ERROR', 'EXPIRED'] as const)('a %s run fails the run, naming the state and Glue\'s message', async (JobRunState) => {
    glueMock.on(GetJobRunCommand).resolves({
      JobRun: { Id: 'jr_1', JobRunState, ErrorMessage: 'An error occurred while calling o112.jdbc. Connection refused' },
    });
    await expect(getExtractJobState(glue, JOB, 'jr_1')).rejects.toMatchObject({
      name: 'ExtractJobFailed',
      message: `Glue job ${JOB} run jr_1 ended ${JobRunState}: An error occurred while calling o112.jdbc. Connection refused`,
    });
  });

  it('a state Glue adds later is an error, never mistaken for success', async () => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'PAUSED' as never } });
    await expect(getExtractJobState(glue, JOB, 'jr_1')).rejects.toMatchObject({
      name: 'ExtractJobFailed',
      message: `Glue job ${JOB} run jr_1 is in an unexpected state PAUSED: no error message given`,
    });
  });
});
