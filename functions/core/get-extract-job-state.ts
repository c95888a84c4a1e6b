/** GetExtractJobState: one poll of the Spark job run; a run that ended badly fails the run with its state and message. */
import { billedDpuSeconds } from './glue-dpu';
import type { GlueApi } from './glue-api';

/** The Spark job run ended in a state other than SUCCEEDED. */
export class ExtractJobFailedError extends Error {
  override readonly name = 'ExtractJobFailed';
}

export interface JobProgress {
  readonly jobName: string;
  readonly jobRunId: string;
  readonly state: string;
  readonly done: boolean;
  /**
   * Once done: the DPU-seconds the run is billed for (core/glue-dpu.ts), null if Glue reported
   * nothing to derive them from; carried to PublishExtracts for the run's estimated cost.
   */
  readonly dpuSeconds?: number | null;
  /** Once done: Glue's ExecutionTime, null if not reported. */
  readonly executionSeconds?: number | null;
}

const JOB_WORKING = new Set(['STARTING', 'RUNNING', 'STOPPING', 'WAITING']);
const JOB_FAILED = new Set(['FAILED', 'TIMEOUT', 'STOPPED', 'ERROR', 'EXPIRED']);

export async function getExtractJobState(glue: GlueApi, jobName: string, jobRunId: string): Promise<JobProgress> {
  const jobRun = await glue.getJobRun(jobName, jobRunId);
  if (jobRun.state === 'SUCCEEDED') {
    return { jobName, jobRunId, state: jobRun.state, done: true, dpuSeconds: billedDpuSeconds(jobRun), executionSeconds: jobRun.executionSeconds ?? null };
  }
  if (JOB_WORKING.has(jobRun.state)) return { jobName, jobRunId, state: jobRun.state, done: false };
  const why = JOB_FAILED.has(jobRun.state) ? 'ended' : 'is in an unexpected state';
  throw new ExtractJobFailedError(
    `Glue job ${jobName} run ${jobRunId} ${why} ${jobRun.state}: ${jobRun.errorMessage ?? 'no error message given'}`,
  );
}
