/** StartExtractJob: start the Glue Spark job for the run's month, writing to the run's staging prefix. */
import type { GlueApi } from './glue-api';
import type { RunContext } from './run-context';

export interface JobStarted {
  readonly jobName: string;
  readonly jobRunId: string;
  /** The run was already started by an earlier try of this same step (a retried Lambda). */
  readonly reused: boolean;
}

/** The arguments glue/etl.py takes: the month, its window and where to write this run's staging layout. */
export function extractJobArguments(run: RunContext, extractBucket: string): Record<string, string> {
  return {
    '--month': run.month,
    '--window_start': run.window.windowStart,
    '--month_start': run.window.monthStart,
    '--window_end': run.window.windowEnd,
    '--staging_path': `s3://${extractBucket}/${run.stagingPrefix}`,
    '--run_id': run.runId,
  };
}

/**
 * Starts the job once per run: a retried StartExtractJob finds the run its first try started
 * (same `--run_id`) instead of starting a second Spark job writing to the same staging prefix.
 */
export async function startExtractJob(
  glue: GlueApi,
  jobName: string,
  run: RunContext,
  extractBucket: string,
): Promise<JobStarted> {
  const existing = await glue.findJobRunByRunId(jobName, run.runId);
  if (existing) return { jobName, jobRunId: existing.id, reused: true };
  const jobRunId = await glue.startJobRun(jobName, extractJobArguments(run, extractBucket));
  return { jobName, jobRunId, reused: false };
}

