import { GetJobRunsCommand, GlueClient, StartJobRunCommand } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { JobStarted } from '../../functions/core/glue-steps';
import type { RunContext } from '../../functions/core/run-context';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

const glue = mockClient(GlueClient);
const event = recordedEvent<{ run: RunContext }>('start-extract-job.json');
let handler: (event: { run: RunContext }, context: typeof lambdaContext) => Promise<JobStarted>;

beforeAll(async () => {
  process.env.GLUE_JOB_NAME = 'monthly-loan-extract-test';
  process.env.EXTRACT_BUCKET = 'monthly-loan-extract-test-extracts';
  ({ handler } = await import('../../functions/start-extract-job'));
});
beforeEach(() => glue.reset());

describe('StartExtractJob handler', () => {
  it('starts the configured job for the run\'s month, writing to the run\'s staging prefix in the extract bucket', async () => {
    glue.on(GetJobRunsCommand).resolves({ JobRuns: [] });
    glue.on(StartJobRunCommand).resolves({ JobRunId: 'jr_abc' });
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).resolves.toEqual({ jobName: 'monthly-loan-extract-test', jobRunId: 'jr_abc', reused: false });
    } finally {
      logs.restore();
    }
    expect(glue).toHaveReceivedCommandWith(StartJobRunCommand, {
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
