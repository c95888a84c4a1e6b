/**
 * The Glue stand-in, speaking the Glue JSON API the handlers call (StartCrawler, GetCrawler,
 * StartJobRun, GetJobRuns, GetJobRun):
 * - the crawler reads the source's information_schema into a catalog file, as the Glue crawler
 *   fills the Data Catalog from the JDBC connection;
 * - a job is one extract's (`<jobNamePrefix><extract id>`, as scripts/extract-stack.ts names the
 *   deployed ones, with DefaultArguments `--extract_id <id>`): every extract the folders hold
 *   (extracts/, EXTRACTS_PATH) has one. A run executes the local engine (the extract's SQL on
 *   DuckDB) with the arguments the Spark job takes and writes its staging layout through the S3
 *   API; or, with engine `spark`, runs glue/etl.py itself on a local Spark (./glue-spark-job.ts).
 * Runs are asynchronous, like Glue's: the state machine polls them. A poll of a crawl or job run
 * still in progress is held until it ends or LONG_POLL_MS pass, so the local run's short waits do
 * not use up the poll ceilings in seconds. `simulateFailure` makes every crawl or job run started
 * afterwards fail, to show the alert path.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ClientBase } from 'pg';
import { monthWindow, parseMonth, type MonthWindow } from '../../functions/core/month';
import { findExtract, type ExtractFolder } from '../../extracts/folders';
import { runExtractJob } from '../engine/extract-job';
import { writeFileAtomically } from '../atomic-file';
import { withClient } from '../postgres';
import { JobRunFailure, sparkJobEngine, type SparkJobEngine } from './glue-spark-job';
import { listenOnLoopback, type LoopbackServer } from './loopback-server';
import { S3StagingSink } from './s3-staging-sink';

export interface GlueStandInOptions {
  readonly crawlerName: string;
  /** Each extract's job is named this prefix and the extract's id. */
  readonly jobNamePrefix: string;
  /** Where the extracts are looked up (EXTRACTS_PATH); default: this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** The job's configured workers (serverless.yml glueWorkerType, glueNumberOfWorkers), reported by GetJobRun as Glue does. */
  readonly capacity?: { readonly workerType: string; readonly numberOfWorkers: number };
  /** The "JDBC connection": postgres:// URL of the ODS. */
  readonly sourceUrl: string;
  /** The ODS schema the crawler's target names. */
  readonly sourceSchema: string;
  /** Where the crawler writes the catalog (one JSON file per crawler). */
  readonly catalogDir: string;
  /** Writes the job's staging objects. */
  readonly s3: S3Client;
  /** What runs the job: the DuckDB engine (default) or glue/etl.py on a local Spark, which needs `spark`. */
  readonly engine?: GlueEngine;
  /** With engine spark: the local Spark's log, and where each run stages before its upload to S3. */
  readonly spark?: { readonly logPath: string; readonly stagingRoot: string };
}

export const GLUE_ENGINES = ['duckdb', 'spark'] as const;
export type GlueEngine = (typeof GLUE_ENGINES)[number];

export type GlueFailure = 'crawler' | 'glue-job';

export interface GlueStandIn extends LoopbackServer {
  /** Every crawl or job run started from now on fails, until cleared with `undefined`. */
  simulateFailure(step: GlueFailure | undefined): void;
  /** Resolves once no crawl or job run is in progress (so the ODS can be stopped safely). */
  idle(): Promise<void>;
}

const LONG_POLL_MS = 5000;

interface CrawlerState {
  state: 'READY' | 'RUNNING';
  /** Settles when the crawl in progress ends. */
  crawling?: Promise<void>;
  lastCrawl?: { Status: 'SUCCEEDED' | 'FAILED'; ErrorMessage?: string; StartTime: number; LogGroup: string; LogStream: string };
}

interface JobRun {
  Id: string;
  JobName: string;
  JobRunState: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  Arguments: Record<string, string>;
  StartedOn: number;
  CompletedOn?: number;
  ErrorMessage?: string;
  /** Whole seconds the run took, once it ended (Glue's ExecutionTime): here the job's real elapsed time. */
  ExecutionTime?: number;
  WorkerType?: string;
  NumberOfWorkers?: number;
}

/** One extract's job, as deployed: its name and the extract whose files it is given. */
export interface ExtractJob {
  readonly name: string;
  readonly extract: ExtractFolder;
}

class GlueApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startGlueStandIn(options: GlueStandInOptions): Promise<GlueStandIn> {
  const crawler: CrawlerState = { state: 'READY' };
  const jobRuns: JobRun[] = [];
  const runningJobs = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  let failing: GlueFailure | undefined;
  const spark = sparkEngineOf(options);

  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  };

  const operations: Record<string, (request: Record<string, unknown>) => unknown> = {
    StartCrawler(request) {
      expectName(request.Name, options.crawlerName, 'Crawler');
      if (crawler.state === 'RUNNING') throw new GlueApiError('CrawlerRunningException', `Crawler with name ${options.crawlerName} has already started`);
      crawler.state = 'RUNNING';
      const fail = failing === 'crawler';
      crawler.crawling = track(crawl(options, fail).then((lastCrawl) => {
        crawler.lastCrawl = lastCrawl;
        crawler.state = 'READY';
      }));
      return {};
    },
    async GetCrawler(request) {
      expectName(request.Name, options.crawlerName, 'Crawler');
      if (crawler.state === 'RUNNING' && crawler.crawling) await settledOrAfter(crawler.crawling, LONG_POLL_MS);
      return { Crawler: { Name: options.crawlerName, State: crawler.state, LastCrawl: crawler.lastCrawl } };
    },
    StartJobRun(request) {
      const job = jobOf(options, request.JobName);
      // The job's DefaultArguments, then the run's own (StartJobRun's Arguments), as Glue merges them.
      const args = { '--extract_id': job.extract.definition.id, ...((request.Arguments ?? {}) as Record<string, string>) };
      const run: JobRun = { Id: `jr_${randomUUID().replace(/-/g, '')}`, JobName: job.name, JobRunState: 'RUNNING', Arguments: args, StartedOn: nowSeconds(), ...(options.capacity ? { WorkerType: options.capacity.workerType, NumberOfWorkers: options.capacity.numberOfWorkers } : {}) };
      jobRuns.unshift(run);
      const fail = failing === 'glue-job';
      const running = track(runJob(options, spark, run.Id, job, args, fail).then(
        () => finish(run, 'SUCCEEDED'),
        (error: unknown) => finish(run, 'FAILED', errorMessageOf(error)),
      ));
      runningJobs.set(run.Id, running);
      void running.finally(() => runningJobs.delete(run.Id));
      return { JobRunId: run.Id };
    },
    GetJobRuns(request) {
      const job = jobOf(options, request.JobName);
      const max = typeof request.MaxResults === 'number' ? request.MaxResults : 100;
      return { JobRuns: jobRuns.filter((r) => r.JobName === job.name).slice(0, max) };
    },
    async GetJobRun(request) {
      const job = jobOf(options, request.JobName);
      const run = jobRuns.find((r) => r.Id === request.RunId && r.JobName === job.name);
      if (!run) throw new GlueApiError('EntityNotFoundException', `Job run ${String(request.RunId)} not found`);
      const running = runningJobs.get(run.Id);
      if (running) await settledOrAfter(running, LONG_POLL_MS);
      return { JobRun: run };
    },
  };

  const server = await listenOnLoopback(async (request, body, response) => {
    const operation = String(request.headers['x-amz-target'] ?? '').replace(/^AWSGlue\./, '');
    try {
      const handler = operations[operation];
      if (!handler) throw new GlueApiError('InvalidInputException', `the local Glue stand-in does not support ${operation || 'this request'}`);
      reply(response, 200, await handler(JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>));
    } catch (error) {
      const type = error instanceof GlueApiError ? error.type : 'InternalServiceException';
      reply(response, error instanceof GlueApiError ? 400 : 500, { __type: type, Message: (error as Error).message });
    }
  });

  return {
    url: server.url,
    simulateFailure(step) {
      failing = step;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async close() {
      await server.close();
      await spark?.close();
    },
  };
}

function sparkEngineOf(options: GlueStandInOptions): SparkJobEngine | undefined {
  if ((options.engine ?? 'duckdb') === 'duckdb') return undefined;
  if (!options.spark) throw new Error('the Glue stand-in needs the spark option (log and staging folders) for engine spark');
  return sparkJobEngine({ sourceUrl: options.sourceUrl, s3: options.s3, ...options.spark });
}

function errorMessageOf(error: unknown): string {
  if (error instanceof JobRunFailure) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function settledOrAfter(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function finish(run: JobRun, state: 'SUCCEEDED' | 'FAILED', errorMessage?: string): void {
  run.JobRunState = state;
  run.CompletedOn = nowSeconds();
  run.ExecutionTime = Math.ceil(run.CompletedOn - run.StartedOn);
  if (errorMessage) run.ErrorMessage = errorMessage;
}

/** Reads the ODS schema's tables and columns, as the crawler would catalog them. */
async function crawl(options: GlueStandInOptions, fail: boolean): Promise<NonNullable<CrawlerState['lastCrawl']>> {
  const started = nowSeconds();
  const logs = { StartTime: started, LogGroup: '/aws-glue/crawlers', LogStream: options.crawlerName };
  if (fail) return { ...logs, Status: 'FAILED', ErrorMessage: 'Simulated crawler failure (--simulate-failure crawler)' };
  try {
    const tables: Record<string, { name: string; type: string }[]> = {};
    await withClient(options.sourceUrl, async (client) => {
      const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
          WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
        [options.sourceSchema],
      );
      for (const row of rows) (tables[row.table_name] ??= []).push({ name: row.column_name, type: row.data_type });
      if (rows.length === 0) throw new Error(await noTablesReason(client, options.sourceSchema));
    });
    const catalog = { crawledAt: new Date().toISOString(), schema: options.sourceSchema, tables };
    await writeFileAtomically(join(options.catalogDir, `${options.crawlerName}.json`), `${JSON.stringify(catalog, null, 2)}\n`);
    return { ...logs, Status: 'SUCCEEDED' };
  } catch (error) {
    return { ...logs, Status: 'FAILED', ErrorMessage: (error as Error).message };
  }
}

/**
 * Why information_schema shows no table: there is none, or the user may read none of them
 * (information_schema hides tables a user holds no privilege on; the catalog lists them all).
 */
async function noTablesReason(client: ClientBase, schema: string): Promise<string> {
  const { rows } = await client.query<{ tables: string; user_name: string }>(
    `SELECT count(*) AS tables, current_user AS user_name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    [schema],
  );
  const { tables, user_name: user } = rows[0]!;
  return Number(tables) === 0
    ? `schema "${schema}" of the ODS has no tables`
    : `user ${user} has no privilege on any of the ${tables} tables of schema "${schema}" of the ODS (GRANT SELECT)`;
}

/** The job of that name: `<jobNamePrefix><id>` for an extract the folders hold; any other name is not found, as on Glue. */
function jobOf(options: GlueStandInOptions, name: unknown): ExtractJob {
  const id = typeof name === 'string' && name.startsWith(options.jobNamePrefix) ? name.slice(options.jobNamePrefix.length) : undefined;
  let extract: ExtractFolder | undefined;
  try {
    extract = id ? findExtract(id, options.env) : undefined;
  } catch {
    extract = undefined;
  }
  if (!extract) throw new GlueApiError('EntityNotFoundException', `Job ${String(name)} not found`);
  return { name: name as string, extract };
}

/** Runs the extract: glue/etl.py itself on the Spark engine, else as glue/etl.py would with these arguments. */
async function runJob(
  options: GlueStandInOptions,
  spark: SparkJobEngine | undefined,
  jobRunId: string,
  job: ExtractJob,
  args: Record<string, string>,
  fail: boolean,
): Promise<void> {
  if (fail) throw new Error('Simulated Spark failure (--simulate-failure glue-job)');
  const staging = /^s3:\/\/([^/]+)\/(.+\/)$/.exec(args['--staging_path'] ?? '');
  if (!staging) throw new Error(`--staging_path must be s3://bucket/prefix/ ending in "/", got "${args['--staging_path']}"`);
  const [bucket, prefix] = [staging[1]!, staging[2]!];
  // etl.py checks its own arguments (--extract_id against the definition it was given too).
  if (spark) return spark.run(jobRunId, job, args, { bucket, prefix });
  // As etl.py: a job only has its own extract's files, so it cannot run another extract.
  if (args['--extract_id'] !== job.extract.definition.id) {
    throw new Error(`the job ${job.name} runs extract ${job.extract.definition.id}, but --extract_id is "${args['--extract_id']}"`);
  }
  const window = windowFromArguments(args);
  const runId = args['--run_id'];
  if (!runId) throw new Error('--run_id is required');
  await runExtractJob({ extract: job.extract, sourceUrl: options.sourceUrl, window, runId, sink: new S3StagingSink(options.s3, bucket, prefix) });
}

/** Like etl.py, the job takes the window from its arguments and only checks them against the month. */
function windowFromArguments(args: Record<string, string>): MonthWindow {
  const window = monthWindow(parseMonth(args['--month']));
  for (const [name, expected] of [['--window_start', window.windowStart], ['--month_start', window.monthStart], ['--window_end', window.windowEnd]] as const) {
    if (args[name] !== expected) throw new Error(`${name} is "${args[name]}", but month ${window.month} needs ${expected}`);
  }
  return window;
}

function expectName(given: unknown, known: string, kind: string): void {
  if (given !== known) throw new GlueApiError('EntityNotFoundException', `${kind} ${String(given)} not found`);
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  response.end(JSON.stringify(body));
}

function nowSeconds(): number {
  return Date.now() / 1000;
}
