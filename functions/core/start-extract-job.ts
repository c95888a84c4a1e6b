/** StartExtractJob: start the run's extract's Glue Spark job for the run's month, writing to the run's staging prefix. */
import type { GlueApi } from './glue-api';
import type { RunContext } from './run-context';

export interface JobStarted {
  readonly jobName: string;
  readonly jobRunId: string;
  /** The run was already started by an earlier try of this same step (a retried Lambda). */
  readonly reused: boolean;
}

/**
 * Each extract has its own Glue job, `<prefix><extract id>` (scripts/extract-stack.ts), with the
 * extract's files; the prefix is the stage's (`<service>-<stage>-`, env GLUE_JOB_NAME_PREFIX).
 */
export function extractJobName(jobNamePrefix: string, run: Pick<RunContext, 'extract'>): string {
  return `${jobNamePrefix}${run.extract.id}`;
}

/**
 * The arguments glue/etl.py takes: the extract, the month, its window and where to write this run's
 * staging layout. `--extract_id` is the job's default already; passed again so a run names its
 * extract whatever job runs it (the local Glue stand-in reads it from here).
 */
export function extractJobArguments(run: RunContext, extractBucket: string): Record<string, string> {
  return {
    '--extract_id': run.extract.id,
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

