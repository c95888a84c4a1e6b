import { GetJobRunsCommand, GlueClient, StartJobRunCommand } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { startExtractJob, extractJobArguments, extractJobName, type JobStarted } from '../../functions/core/start-extract-job';
import { SdkGlueApi } from '../../functions/commons/clients/glue-api';
import type { RunContext } from '../../functions/core/run-context';
import { findExtract } from '../../extracts/folders';
import { runContextFor } from '../support/run-context';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

const glueMock = mockClient(GlueClient);
const glue = new SdkGlueApi(new GlueClient({ region: 'af-south-1' }));
const event = recordedEvent<{ run: RunContext }>('start-extract-job.json');
let handler: (event: { run: RunContext }, context: typeof lambdaContext) => Promise<JobStarted>;

beforeAll(async () => {
  process.env.GLUE_JOB_NAME_PREFIX = 'monthly-loan-extract-test-';
  process.env.EXTRACT_BUCKET = 'monthly-loan-extract-test-extracts';
  ({ handler } = await import('../../functions/start-extract-job'));
});
beforeEach(() => glueMock.reset());

describe('StartExtractJob handler', () => {
  it('starts the run\'s extract\'s job (the stage\'s prefix and the extract id) for the run\'s month, writing to the run\'s staging prefix in the extract bucket', async () => {
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: 'jr_abc' });
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).resolves.toEqual({ jobName: 'monthly-loan-extract-test-loan-moving-average', jobRunId: 'jr_abc', reused: false });
    } finally {
      logs.restore();
    }
    expect(glueMock).toHaveReceivedCommandWith(StartJobRunCommand, {
      JobName: 'monthly-loan-extract-test-loan-moving-average',
      Arguments: {
        '--extract_id': 'loan-moving-average',
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

  it("starts another extract's own job, naming that extract in the arguments", async () => {
    glueMock.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    glueMock.on(StartJobRunCommand).resolves({ JobRunId: 'jr_other' });
    const clientActivity = findExtract('client-activity', { EXTRACTS_PATH: 'test/fixtures/extracts' }).definition;
    const other = { run: runContextFor('2024-03', event.run.runId, { extract: clientActivity }) };
    const logs = captureLogs();
    try {
      await expect(handler(other, lambdaContext)).resolves.toMatchObject({ jobName: 'monthly-loan-extract-test-client-activity', jobRunId: 'jr_other' });
    } finally {
      logs.restore();
    }
    expect(glueMock).toHaveReceivedCommandWith(StartJobRunCommand, {
      JobName: 'monthly-loan-extract-test-client-activity',
      Arguments: expect.objectContaining({ '--extract_id': 'client-activity' }),
    });
    expect(glueMock).toHaveReceivedCommandWith(GetJobRunsCommand, { JobName: 'monthly-loan-extract-test-client-activity' });
  });
});

describe('startExtractJob', () => {
  const JOB = 'monthly-loan-extract-prod';
  const BUCKET = 'monthly-loan-extract-prod-extracts';
  const { run } = event;

  it('names the job after the stage prefix and the run\'s extract', () => {
    expect(extractJobName('monthly-loan-extract-prod-', run)).toBe('monthly-loan-extract-prod-loan-moving-average');
  });

  it('is started with the arguments glue/etl.py takes', () => {
    expect(extractJobArguments(run, BUCKET)).toEqual({
      '--extract_id': 'loan-moving-average',
      '--month': '2024-03',
      '--window_start': '2024-01-01',
      '--month_start': '2024-03-01',
      '--window_end': '2024-04-01',
      '--staging_path': `s3://${BUCKET}/staging/extract=loan-moving-average/month=2024-03/run=${run.runId}/`,
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
