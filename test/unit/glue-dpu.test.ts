import { GetJobRunCommand, GlueClient } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { SdkGlueApi } from '../../functions/commons/clients/glue-api';
import { getExtractJobState } from '../../functions/core/get-extract-job-state';
import { billedDpuSeconds } from '../../functions/core/glue-dpu';

describe('billedDpuSeconds', () => {
  it("takes Glue's own DPUSeconds when it reports them (auto-scaling and Flex runs)", () => {
    expect(billedDpuSeconds({ dpuSeconds: 812.5, executionSeconds: 400, workerType: 'G.1X', numberOfWorkers: 10 })).toBe(812.5);
  });

  it('else multiplies the execution time by the workers and the DPUs of their type', () => {
    expect(billedDpuSeconds({ executionSeconds: 300, workerType: 'G.1X', numberOfWorkers: 10 })).toBe(3000);
    expect(billedDpuSeconds({ executionSeconds: 300, workerType: 'G.2X', numberOfWorkers: 10 })).toBe(6000);
    expect(billedDpuSeconds({ executionSeconds: 300, workerType: 'G.025X', numberOfWorkers: 2 })).toBe(150);
  });

  it('bills a run shorter than a minute as a minute, as Glue 2.0 and later do', () => {
    expect(billedDpuSeconds({ executionSeconds: 3, workerType: 'G.1X', numberOfWorkers: 2 })).toBe(120);
  });

  it('falls back to MaxCapacity for a job without a (known) worker type', () => {
    expect(billedDpuSeconds({ executionSeconds: 600, maxCapacity: 10 })).toBe(6000);
    expect(billedDpuSeconds({ executionSeconds: 600, workerType: 'Q.9X', numberOfWorkers: 3, maxCapacity: 6 })).toBe(3600);
  });

  it('is null when there is nothing to derive them from', () => {
    expect(billedDpuSeconds({})).toBeNull();
    expect(billedDpuSeconds({ executionSeconds: 600 })).toBeNull();
  });
});

describe('a finished extract job reports its DPU-seconds to the state machine', () => {
  const glueMock = mockClient(GlueClient);
  const glue = new SdkGlueApi(new GlueClient({ region: 'af-south-1' }));
  afterAll(() => glueMock.restore());

  it('from what GetJobRun returns', async () => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'SUCCEEDED', ExecutionTime: 420, WorkerType: 'G.1X', NumberOfWorkers: 10 } });
    await expect(getExtractJobState(glue, 'job', 'jr_1')).resolves.toEqual({
      jobName: 'job', jobRunId: 'jr_1', state: 'SUCCEEDED', done: true, dpuSeconds: 4200, executionSeconds: 420,
    });
  });

  it('as null when Glue reported no execution time', async () => {
    glueMock.on(GetJobRunCommand).resolves({ JobRun: { Id: 'jr_1', JobRunState: 'SUCCEEDED' } });
    await expect(getExtractJobState(glue, 'job', 'jr_1')).resolves.toMatchObject({ done: true, dpuSeconds: null, executionSeconds: null });
  });
});
