import { GetJobRunCommand, GlueClient } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { JobProgress } from '../../functions/core/glue-steps';
import type { RunContext } from '../../functions/core/run-context';
import { invokeQuietly, lambdaContext, recordedEvent } from './lambda-harness';

type Event = { run: RunContext; jobRunId: string };
const glue = mockClient(GlueClient);
const event = recordedEvent<Event>('get-extract-job-state.json');
let handler: (event: Event, context: typeof lambdaContext) => Promise<JobProgress>;

beforeAll(async () => {
  process.env.GLUE_JOB_NAME = 'monthly-loan-extract-test';
  ({ handler } = await import('../../functions/get-extract-job-state'));
});
beforeEach(() => glue.reset());

function poll() {
  return invokeQuietly(handler, event);
}

describe('GetExtractJobState handler', () => {
  it('polls the run the state machine carries and reports it not done while RUNNING', async () => {
    glue.on(GetJobRunCommand, { JobName: 'monthly-loan-extract-test', RunId: event.jobRunId }).resolves({ JobRun: { Id: event.jobRunId, JobRunState: 'RUNNING' } });
    await expect(poll()).resolves.toEqual({ jobName: 'monthly-loan-extract-test', jobRunId: event.jobRunId, state: 'RUNNING', done: false });
  });

  it('fails with ExtractJobFailed naming the state and Glue\'s message', async () => {
    glue.on(GetJobRunCommand).resolves({ JobRun: { Id: event.jobRunId, JobRunState: 'TIMEOUT', ErrorMessage: 'Job run timed out after 240 minutes' } });
    await expect(poll()).rejects.toMatchObject({ name: 'ExtractJobFailed', message: expect.stringContaining('ended TIMEOUT: Job run timed out after 240 minutes') });
  });
});
