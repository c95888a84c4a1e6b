/**
 * The Glue calls of the Glue steps (core/glue-api.ts), with the AWS SDK. Only here does Glue's vocabulary
 * (CrawlerRunningException, JobRunState...) meet the domain's.
 */
import {
  GetCrawlerCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  StartCrawlerCommand,
  StartJobRunCommand,
  type GlueClient,
  type JobRun,
} from '@aws-sdk/client-glue';
import type { CrawlerSnapshot, GlueApi, JobRunSnapshot } from '../../core/glue-api';

/** How far back a retried StartExtractJob looks for the run its first try started (newest first). */
const RECENT_JOB_RUNS = 50;

export class SdkGlueApi implements GlueApi {
  constructor(private readonly client: GlueClient) {}

  async startCrawler(crawlerName: string): Promise<'started' | 'already-running'> {
    try {
      await this.client.send(new StartCrawlerCommand({ Name: crawlerName }));
      return 'started';
    } catch (error) {
      if (error instanceof Error && error.name === 'CrawlerRunningException') return 'already-running';
      throw error;
    }
  }

  async getCrawler(crawlerName: string): Promise<CrawlerSnapshot> {
    const { Crawler } = await this.client.send(new GetCrawlerCommand({ Name: crawlerName }));
    if (!Crawler?.State) throw new Error(`Glue returned no state for crawler ${crawlerName}`);
    const last = Crawler.LastCrawl;
    return {
      state: Crawler.State,
      lastCrawl: last?.Status
        ? { status: last.Status, errorMessage: last.ErrorMessage, logGroup: last.LogGroup, logStream: last.LogStream }
        : undefined,
    };
  }

  async startJobRun(jobName: string, args: Readonly<Record<string, string>>): Promise<string> {
    const { JobRunId } = await this.client.send(new StartJobRunCommand({ JobName: jobName, Arguments: { ...args } }));
    if (!JobRunId) throw new Error(`Glue started job ${jobName} but returned no run id`);
    return JobRunId;
  }

  async findJobRunByRunId(jobName: string, runId: string): Promise<JobRunSnapshot | undefined> {
    const { JobRuns } = await this.client.send(new GetJobRunsCommand({ JobName: jobName, MaxResults: RECENT_JOB_RUNS }));
    const found = JobRuns?.find((jobRun) => jobRun.Arguments?.['--run_id'] === runId);
    return found ? toSnapshot(found, jobName) : undefined;
  }

  async getJobRun(jobName: string, jobRunId: string): Promise<JobRunSnapshot> {
    const { JobRun } = await this.client.send(new GetJobRunCommand({ JobName: jobName, RunId: jobRunId }));
    if (!JobRun) throw new Error(`Glue returned no run ${jobRunId} of job ${jobName}`);
    return toSnapshot(JobRun, jobName);
  }
}

function toSnapshot(jobRun: JobRun, jobName: string): JobRunSnapshot {
  if (!jobRun.Id || !jobRun.JobRunState) throw new Error(`Glue returned a run of job ${jobName} without id or state`);
  return {
    id: jobRun.Id,
    state: jobRun.JobRunState,
    errorMessage: jobRun.ErrorMessage,
    executionSeconds: jobRun.ExecutionTime,
    dpuSeconds: jobRun.DPUSeconds,
    workerType: jobRun.WorkerType,
    numberOfWorkers: jobRun.NumberOfWorkers,
    maxCapacity: jobRun.MaxCapacity,
  };
}
