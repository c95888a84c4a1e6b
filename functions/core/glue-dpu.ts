/**
 * The DPU-seconds a finished Glue job run is billed for, from what GetJobRun reports:
 * - `DPUSeconds` when Glue reports it (auto-scaling and Flex runs): what it billed;
 * - else the run's execution time × its workers × the DPUs of its worker type;
 * - else the execution time × `MaxCapacity` (the DPUs of a job without a worker type).
 * Glue 2.0 and later bill per second with a 1-minute minimum, so a shorter run counts as 60 s.
 * DPUs per worker type: the Glue API reference, WorkerType.
 */
import type { JobRunSnapshot } from './glue-api';

const DPU_PER_WORKER: Readonly<Record<string, number>> = {
  'G.025X': 0.25,
  'G.1X': 1,
  'G.2X': 2,
  'G.4X': 4,
  'G.8X': 8,
  'G.12X': 12,
  'G.16X': 16,
  'R.1X': 1,
  'R.2X': 2,
  'R.4X': 4,
  'R.8X': 8,
  'Z.2X': 2,
};

export const GLUE_MINIMUM_BILLED_SECONDS = 60;

/** Null when the run reports neither DPU-seconds nor an execution time with a capacity. */
export function billedDpuSeconds(run: Pick<JobRunSnapshot, 'dpuSeconds' | 'executionSeconds' | 'workerType' | 'numberOfWorkers' | 'maxCapacity'>): number | null {
  if (run.dpuSeconds !== undefined) return run.dpuSeconds;
  if (run.executionSeconds === undefined) return null;
  const seconds = Math.max(run.executionSeconds, GLUE_MINIMUM_BILLED_SECONDS);
  const perWorker = run.workerType === undefined ? undefined : DPU_PER_WORKER[run.workerType];
  if (perWorker !== undefined && run.numberOfWorkers !== undefined) return seconds * run.numberOfWorkers * perWorker;
  if (run.maxCapacity !== undefined) return seconds * run.maxCapacity;
  return null;
}
