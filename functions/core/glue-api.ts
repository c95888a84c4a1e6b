/**
 * The part of the Glue API the run's Glue steps use (crawl the ODS, run the Spark extract job), in
 * plain types; the SDK implementation is commons/clients/glue-api.ts. Each step is started once and
 * then polled by the state machine (Wait → Get…State → Choice): a step still working returns
 * `done: false`, one that ended badly throws an error whose name the execution shows.
 */
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
  /** Seconds the run used resources (Glue's ExecutionTime), once it reports them. */
  readonly executionSeconds?: number;
  /** DPU-seconds Glue reports for auto-scaling and Flex runs (Glue's DPUSeconds). */
  readonly dpuSeconds?: number;
  readonly workerType?: string;
  readonly numberOfWorkers?: number;
  /** DPUs of a run without a worker type. */
  readonly maxCapacity?: number;
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

