/**
 * The Glue steps of a run: crawl the ODS, then run the Spark extract job, each started once and
 * then polled by the state machine (Wait → Get…State → Choice). A step that is still working
 * returns `done: false`; one that ended badly throws an error whose name the execution shows.
 * The Glue API sits behind `GlueApi` (SDK implementation: commons/clients/glue-api.ts).
 */
import type { RunContext } from './run-context';

export interface CrawlerSnapshot {
  /** READY | RUNNING | STOPPING */
  readonly state: string;
  readonly lastCrawl?: {
    /** SUCCEEDED | FAILED | CANCELLED */
    readonly status: string;
    readonly errorMessage?: string;
    readonly logGroup?: string;
    readonly logStream?: string;
  };
}

export interface JobRunSnapshot {
  readonly id: string;
  /** STARTING | RUNNING | STOPPING | WAITING | SUCCEEDED | FAILED | TIMEOUT | STOPPED | ERROR | EXPIRED */
  readonly state: string;
  readonly errorMessage?: string;
}

export interface GlueApi {
  /** `already-running` when the crawler was running before we asked: we wait for that crawl. */
  startCrawler(crawlerName: string): Promise<'started' | 'already-running'>;
  getCrawler(crawlerName: string): Promise<CrawlerSnapshot>;
  /** Returns the job run id. */
  startJobRun(jobName: string, args: Readonly<Record<string, string>>): Promise<string>;
  /** A recent run of the job started with `--run_id <runId>`, if any. */
  findJobRunByRunId(jobName: string, runId: string): Promise<JobRunSnapshot | undefined>;
  getJobRun(jobName: string, jobRunId: string): Promise<JobRunSnapshot>;
}

/** The crawler's last crawl failed or was cancelled: the catalog may not match the ODS. */
export class CrawlerFailedError extends Error {
  override readonly name = 'CrawlerFailed';
}

/** The Spark job run ended in a state other than SUCCEEDED. */
export class ExtractJobFailedError extends Error {
  override readonly name = 'ExtractJobFailed';
}

export interface CrawlerStarted {
  readonly crawlerName: string;
  readonly alreadyRunning: boolean;
}

export interface CrawlerProgress {
  readonly crawlerName: string;
  readonly state: string;
  /** True once the crawl ended well; the state machine moves on. */
  readonly done: boolean;
}

export interface JobStarted {
  readonly jobName: string;
  readonly jobRunId: string;
  /** The run was already started by an earlier try of this same step (a retried Lambda). */
  readonly reused: boolean;
}

export interface JobProgress {
  readonly jobName: string;
  readonly jobRunId: string;
  readonly state: string;
  readonly done: boolean;
}

export async function startCrawler(glue: GlueApi, crawlerName: string): Promise<CrawlerStarted> {
  const started = await glue.startCrawler(crawlerName);
  return { crawlerName, alreadyRunning: started === 'already-running' };
}

export async function getCrawlerProgress(glue: GlueApi, crawlerName: string): Promise<CrawlerProgress> {
  const crawler = await glue.getCrawler(crawlerName);
  switch (crawler.state) {
    case 'RUNNING':
    case 'STOPPING':
      return { crawlerName, state: crawler.state, done: false };
    case 'READY':
      break;
    default:
      throw new CrawlerFailedError(`Glue crawler ${crawlerName} is in an unexpected state "${crawler.state}"`);
  }
  const last = crawler.lastCrawl;
  if (last?.status === 'SUCCEEDED') return { crawlerName, state: crawler.state, done: true };
  if (!last) throw new CrawlerFailedError(`Glue crawler ${crawlerName} is READY but has no record of a crawl`);
  const logs = last.logGroup ? ` (logs: ${last.logGroup}${last.logStream ? `/${last.logStream}` : ''})` : '';
  throw new CrawlerFailedError(
    `Glue crawler ${crawlerName} finished ${last.status}: ${last.errorMessage ?? 'no error message given'}${logs}`,
  );
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

const JOB_WORKING = new Set(['STARTING', 'RUNNING', 'STOPPING', 'WAITING']);
const JOB_FAILED = new Set(['FAILED', 'TIMEOUT', 'STOPPED', 'ERROR', 'EXPIRED']);

export async function getExtractJobProgress(glue: GlueApi, jobName: string, jobRunId: string): Promise<JobProgress> {
  const jobRun = await glue.getJobRun(jobName, jobRunId);
  if (jobRun.state === 'SUCCEEDED') return { jobName, jobRunId, state: jobRun.state, done: true };
  if (JOB_WORKING.has(jobRun.state)) return { jobName, jobRunId, state: jobRun.state, done: false };
  const why = JOB_FAILED.has(jobRun.state) ? 'ended' : 'is in an unexpected state';
  throw new ExtractJobFailedError(
    `Glue job ${jobName} run ${jobRunId} ${why} ${jobRun.state}: ${jobRun.errorMessage ?? 'no error message given'}`,
  );
}
