import { GetJobRunsCommand, GlueClient, StartJobRunCommand } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { startExtractJob, extractJobArguments, type JobStarted } from '../../functions/core/start-extract-job';
import { SdkGlueApi } from '../../functions/commons/clients/glue-api';
import type { RunContext } from '../../functions/core/run-context';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

const glueMock = mockClient(GlueClient);
const glue = new SdkGlueApi(new GlueClient({ region: 'af-south-1' }));
const event = recordedEvent<{ run: RunContext }>('start-extract-job.json');
let handler: (event: { run: RunContext }, context: typeof lambdaContext) => Promise<JobStarted>;

beforeAll(async () => {
  process.env.GLUE_JOB_NAME = 'monthly-loan-extract-test';
  process.env.EXTRACT_BUCKET = 'monthly-loan-extract-test-extracts';
  ({ handler } = await import('../../functions/start-extract-job'));
});
beforeEach(() => glueMock.reset());

describe('StartExtractJob handler', () => {
  it('starts the configured job for the run\'s month, writing to the run\'s staging prefix in the extract bucket', async () => {
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: 'jr_abc' });
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).resolves.toEqual({ jobName: 'monthly-loan-extract-test', jobRunId: 'jr_abc', reused: false });
    } finally {
      logs.restore();
    }
    expect(glueMock).toHaveReceivedCommandWith(StartJobRunCommand, {
      JobName: 'monthly-loan-extract-test',
      Arguments: {
        '--month': '2024-03',
        '--window_start': '2024-01-01',
        '--month_start': '2024-03-01',
        '--window_end': '2024-04-01',
        '--staging_path': `s3://monthly-loan-extract-test-extracts/${event.run.stagingPrefix}`,
        '--run_id': event.run.runId,
      },
    });
    expect(logs.lines).toContainEqual(expect.objectContaining({ message: 'Extract job started', month: '2024-03', jobRunId: 'jr_abc' }));
  });
});

describe('startExtractJob', () => {
  const JOB = 'monthly-loan-extract-prod';
  const BUCKET = 'monthly-loan-extract-prod-extracts';
  const { run } = event;

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
});
