/**
 * Runs glue/etl.py on a local Spark from TypeScript: starts local/glue-spark/glue_job_server.py
 * (one JVM for many job runs) with the Python that scripts/setup-spark.sh installs, and sends it
 * job runs one at a time. Used by the Glue stand-in (`npm start -- --engine spark`), the real-Spark
 * tests and the benchmark.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { SHARED_GLUE_FILES, type ExtractFolder } from '../../extracts/folders';

const REPO = join(__dirname, '..', '..');
export const SPARK_DIR = join(REPO, '.spark');
const SPARK_PYTHON = join(SPARK_DIR, 'venv', 'bin', 'python');
const SERVER = join(__dirname, 'glue_job_server.py');

/** The shared files every extract's deployed job gets with --extra-files (after its extract's own), from this checkout. */
export const GLUE_EXTRA_FILES = SHARED_GLUE_FILES.map((path) => join(REPO, path));

/**
 * What one extract's job gets with --extra-files: the extract's folder (extract.json and its SQL),
 * then the shared files. Glue puts them side by side in the job's working directory, where etl.py
 * finds each by its file name (extracts/folders.ts refuses two files of one name).
 */
export function extractJobFiles(extract: ExtractFolder): string[] {
  return [...extractFolderFiles(extract), ...GLUE_EXTRA_FILES];
}

/** The extract's own files (extract.json and its SQL), absolute. */
export function extractFolderFiles(extract: ExtractFolder): string[] {
  return extract.files.map((file) => join(extract.dir, ...file.split('/')));
}

/** What Glue's extract_jdbc_conf() returns for a connection. */
export interface JdbcConnection {
  readonly fullUrl: string;
  readonly user: string;
  readonly password: string;
}

export interface SparkJobRun {
  /** The job run's arguments, `--name` to value, as StartJobRun passes them with the job's defaults. */
  readonly arguments: Readonly<Record<string, string>>;
  readonly connections: Readonly<Record<string, JdbcConnection>>;
  /** Copied into the job's working directory, as Glue does with --extra-files (extractJobFiles). */
  readonly extraFiles: readonly string[];
  /** Spark SQL settings for this run only (e.g. spark.sql.adaptive.enabled). */
  readonly sparkConf?: Readonly<Record<string, string>>;
}

export interface SparkJobResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** `<error name>: <first line>`, as Glue's ErrorMessage. */
  readonly error?: string;
}

export interface SparkJobs {
  readonly sparkVersion: string;
  /** Runs one job; calls queue, the server runs one at a time. */
  run(job: SparkJobRun): Promise<SparkJobResult>;
  close(): Promise<void>;
}

/** Why the local Spark cannot run here, or undefined when it can. */
export function sparkToolchainProblem(): string | undefined {
  if (!existsSync(SPARK_PYTHON)) return `${SPARK_PYTHON} is missing: run scripts/setup-spark.sh (needs Java 17 and Maven)`;
  const jars = existsSync(join(SPARK_DIR, 'jars')) ? readdirSync(join(SPARK_DIR, 'jars')).filter((f) => /^postgresql-.*\.jar$/.test(f)) : [];
  if (jars.length === 0) return `no PostgreSQL JDBC driver in ${join(SPARK_DIR, 'jars')}: run scripts/setup-spark.sh`;
  return undefined;
}

export interface StartSparkJobsOptions {
  /** Where Spark's and the job's logs go (default: discarded). */
  readonly log?: Writable;
  /** JVM memory (spark.driver.memory), e.g. "4g". */
  readonly driverMemory?: string;
  /**
   * Runs Spark in its own process group, so a Ctrl-C in the terminal (SIGINT to the foreground
   * group) does not reach it and the job run in progress finishes, as a Glue job run does when its
   * execution is stopped (`npm start`). It still ends with its input: when this process exits.
   */
  readonly ownProcessGroup?: boolean;
}

export async function startSparkJobs(options: StartSparkJobsOptions = {}): Promise<SparkJobs> {
  const problem = sparkToolchainProblem();
  if (problem) throw new Error(`The local Spark is not installed: ${problem}`);
  const env = { ...process.env, PYTHONUNBUFFERED: '1', ...(options.driverMemory ? { LOCAL_SPARK_DRIVER_MEMORY: options.driverMemory } : {}) };
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(SPARK_PYTHON, [SERVER], {
    cwd: REPO,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  if (options.log) child.stderr.pipe(options.log, { end: false });
  else child.stderr.resume();

  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`the local Spark exited (${signal ?? code})`)));
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await Promise.race([answers.next(), exited.then((why) => Promise.reject(new Error(why)))]);
    if (line.done) throw new Error(await exited);
    return JSON.parse(line.value) as Record<string, unknown>;
  };

  const ready = await next();
  if (ready.status !== 'READY') throw new Error(`the local Spark did not start: ${JSON.stringify(ready)}`);
  let queue: Promise<unknown> = Promise.resolve();

  return {
    sparkVersion: String(ready.spark),
    run(job) {
      const result = queue.then(async () => {
        child.stdin.write(`${JSON.stringify(job)}\n`);
        const answer = await next();
        return answer.status === 'SUCCEEDED' ? { status: 'SUCCEEDED' as const } : { status: 'FAILED' as const, error: String(answer.error) };
      });
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      child.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      // Spark stops within seconds once its input ends; a JVM that hangs is killed.
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 20_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A postgres:// URL as a JDBC connection (credentials apart, as Glue keeps them). */
export function jdbcConnectionOf(postgresUrl: string): JdbcConnection {
  const url = new URL(postgresUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  return {
    fullUrl: `jdbc:postgresql://${url.hostname}:${url.port || '5432'}/${encodeURIComponent(database)}`,
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
  };
}
