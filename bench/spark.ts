/**
 * The benchmark's `spark` side: the production job, glue/etl.py, on the local Spark of
 * scripts/setup-spark.sh (3.5.6, as AWS Glue 5.1), through local/glue-spark/spark-jobs.ts.
 *
 * One Spark (a python server and its JVM, local[2]) is started per bank size and serves every run
 * of that size, so the JVM's start is measured once, apart from the runs. Each run is timed from
 * the job request to its answer, and the memory of the server's whole process tree (python, java
 * and anything they start) is measured from /proc: each process's VmHWM, reset before the run
 * (clear_refs), summed at its end, and the tree's VmRSS sampled during the run.
 */
import { createWriteStream, readdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { monthWindow, parseMonth } from '../functions/core/month';
import { DEFAULT_EXTRACT_ID, findExtract } from '../extracts/folders';
import { extractJobFiles, jdbcConnectionOf, sparkToolchainProblem, startSparkJobs, type SparkJobs } from '../local/glue-spark/spark-jobs';

/** What the job runs with: the defaults of the deployed job (resources/glue.yml sets no Spark conf, no --read_partitions). */
export const SPARK_MASTER = 'local[2]';
export const SPARK_READ_PARTITIONS = 'default (8)';

export interface SparkJvm {
  /** The bank size (or sizes) this Spark served. */
  readonly served: string;
  readonly sparkVersion: string;
  readonly driverMemory: string;
  /** From spawning the python server to its READY (JVM and SparkSession up), ms. */
  readonly startMs: number;
  /** The process tree's resident memory once started, before any job. */
  readonly idleRssBytes: number;
}

export interface BenchSpark {
  readonly jvm: SparkJvm;
  /** One job run of glue/etl.py for `month` of `sourceUrl`, staging under `stagingDir`. */
  run(sourceUrl: string, month: string, stagingDir: string, runId: string): Promise<SparkRun>;
  close(): Promise<void>;
}

export interface SparkRun {
  readonly ok: boolean;
  readonly error?: string;
  /** From the job request to its answer, ms. */
  readonly ms: number;
  /** Sum over the tree's processes of their VmHWM since the run started (an upper bound of the tree's peak). */
  readonly peakRssBytes: number;
  /** The largest sum of the tree's VmRSS seen while sampling (every SAMPLE_MS; a lower bound). */
  readonly peakRssSampledBytes: number;
  /** Peak (VmHWM) per process of the tree, by command name. */
  readonly peakRssByProcess: Readonly<Record<string, number>>;
  /** The job's phases (ms), from its log lines' timestamps. */
  readonly phases: Readonly<Record<string, number>>;
}

const SAMPLE_MS = 100;

export async function startBenchSpark(options: { readonly served: string; readonly driverMemory: string; readonly logFile: string }): Promise<BenchSpark> {
  const problem = sparkToolchainProblem();
  if (problem) throw new Error(`the local Spark is not installed: ${problem}`);
  const logFile = createWriteStream(options.logFile, { flags: 'a' });
  const log = new JobLog(logFile);
  const before = new Set(childrenOf(process.pid));
  const started = performance.now();
  let jobs: SparkJobs;
  try {
    jobs = await startSparkJobs({ log, driverMemory: options.driverMemory });
  } catch (error) {
    logFile.end();
    throw error;
  }
  const startMs = performance.now() - started;
  const root = childrenOf(process.pid).find((pid) => !before.has(pid) && commandLine(pid).includes('glue_job_server.py'));
  if (root === undefined) {
    await jobs.close();
    logFile.end();
    throw new Error('started the local Spark but found no glue_job_server.py among this process’s children in /proc');
  }
  const jvm: SparkJvm = {
    served: options.served,
    sparkVersion: jobs.sparkVersion,
    driverMemory: options.driverMemory,
    startMs,
    idleRssBytes: treeRss(processTree(root)),
  };
  let closed = false;
  return {
    jvm,
    async run(sourceUrl, month, stagingDir, runId) {
      const window = monthWindow(parseMonth(month));
      const memory = new TreeMemory(root);
      log.startRun();
      const requested = Date.now();
      const t0 = performance.now();
      const result = await jobs.run({
        // As StartExtractJob passes them, with the deployed job's defaults (resources/glue.yml); the
        // bench server has no TLS. --read_partitions is not passed: the job's default (8) applies.
        arguments: {
          '--JOB_NAME': `monthly-loan-extract-bench-${DEFAULT_EXTRACT_ID}`,
          '--extract_id': DEFAULT_EXTRACT_ID,
          '--month': month,
          '--window_start': window.windowStart,
          '--month_start': window.monthStart,
          '--window_end': window.windowEnd,
          '--staging_path': `file://${stagingDir.replace(/\/?$/, '/')}`,
          '--run_id': runId,
          '--connection_name': 'ods',
          '--ods_sslmode': 'disable',
        },
        connections: { ods: jdbcConnectionOf(sourceUrl) },
        extraFiles: extractJobFiles(findExtract(DEFAULT_EXTRACT_ID)),
      });
      const ms = performance.now() - t0;
      const answered = Date.now();
      const peak = memory.stop();
      // The job's last log lines come on stderr, written before the answer on stdout: let them arrive.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const phases = jobPhases(log.endRun(), requested, answered);
      return {
        ok: result.status === 'SUCCEEDED',
        ...(result.error ? { error: result.error } : {}),
        ms,
        ...peak,
        phases,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await jobs.close();
      await new Promise<void>((resolve) => logFile.end(resolve));
    },
  };
}

/** Passes Spark's stderr to the log file, keeping the job's own timestamped log lines of the current run. */
class JobLog extends Writable {
  private partial = '';
  private lines: string[] | undefined;

  constructor(private readonly file: WriteStream) {
    super();
  }

  startRun(): void {
    this.lines = [];
  }

  endRun(): string[] {
    const lines = this.lines ?? [];
    this.lines = undefined;
    return lines;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    if (this.lines) for (const line of lines) if (JOB_LINE.test(line)) this.lines.push(line);
    // The JVM can still print while it shuts down, after close() has ended the log file.
    if (this.file.writableEnded) callback();
    else this.file.write(chunk, callback);
  }
}

/** etl.py's log format: "%(asctime)s %(levelname)s monthly-extract %(message)s". */
const JOB_LINE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3}) INFO monthly-extract (.*)$/;

/**
 * The job's phases from its log lines, each ending at the line named:
 *   start          request → "run …" (the server's per-job work, GlueContext and Job.init)
 *   snapshot       → "reading the ODS in snapshot …" (the driver's connection, pg_export_snapshot)
 *   read:<table>   → "read N rows from <schema>.<table>" (parallel JDBC read, cached and counted)
 *   compute        → "writing N rows" (the shared SQL, cached, and its rows per bank counted)
 *   write:rows     → "rejected loans: …" (the rows' CSV parts written, then the rejected counts computed)
 *   write:json     → "staged under …" (rejected, banks and source_rows written)
 *   end            → the answer (job.commit, the server's clean-up)
 * Python's asctime is local time to the millisecond; the request and answer are this process's clock.
 */
export function jobPhases(lines: readonly string[], requestedAt: number, answeredAt: number): Record<string, number> {
  const phases: Record<string, number> = {};
  let previous = requestedAt;
  const mark = (name: string, at: number) => {
    phases[name] = (phases[name] ?? 0) + Math.max(0, at - previous);
    previous = at;
  };
  for (const line of lines) {
    const match = JOB_LINE.exec(line);
    if (!match) continue;
    const at = new Date(`${match[1]}T${match[2]}.${match[3]}`).getTime();
    const message = match[4]!;
    const read = /^read \d+ rows from [^.]+\.(\S+) in/.exec(message);
    if (/^run \S+: month/.test(message)) mark('start', at);
    else if (message.startsWith('reading the ODS in snapshot')) mark('snapshot', at);
    else if (read) mark(`read:${read[1]}`, at);
    else if (message.startsWith('writing ')) mark('compute', at);
    else if (message.startsWith('rejected loans:')) mark('write:rows', at);
    else if (message.startsWith('staged under')) mark('write:json', at);
  }
  mark('end', answeredAt);
  return phases;
}

/** Peak memory of a process tree during one run: VmHWM reset at the start and summed at the end, and VmRSS sampled. */
class TreeMemory {
  private sampledPeak = 0;
  private readonly timer: NodeJS.Timeout;
  private pids: number[];
  private sinceScan = 0;

  constructor(private readonly root: number) {
    this.pids = processTree(root);
    // Writing 5 to clear_refs resets the process's VmHWM to its current RSS (Linux 4.0+).
    for (const pid of this.pids) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        // Gone, or not ours: its VmHWM then covers its whole life, still an upper bound.
      }
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  private sample(): void {
    // The tree is re-read every second, so processes started during the run are counted.
    if (++this.sinceScan >= 1000 / SAMPLE_MS) {
      this.sinceScan = 0;
      this.pids = processTree(this.root);
    }
    this.sampledPeak = Math.max(this.sampledPeak, treeRss(this.pids));
  }

  stop(): Pick<SparkRun, 'peakRssBytes' | 'peakRssSampledBytes' | 'peakRssByProcess'> {
    clearInterval(this.timer);
    this.pids = processTree(this.root);
    this.sample();
    const byProcess: Record<string, number> = {};
    let sum = 0;
    for (const pid of this.pids) {
      const hwm = statusKb(pid, 'VmHWM');
      if (hwm === undefined) continue;
      const name = readProc(`/proc/${pid}/comm`)?.trim() ?? String(pid);
      byProcess[name] = (byProcess[name] ?? 0) + hwm * 1024;
      sum += hwm * 1024;
    }
    return { peakRssBytes: Math.max(sum, this.sampledPeak), peakRssSampledBytes: this.sampledPeak, peakRssByProcess: byProcess };
  }
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readProc(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) : undefined;
}

function treeRss(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (statusKb(pid, 'VmRSS') ?? 0) * 1024, 0);
}

function commandLine(pid: number): string {
  return (readProc(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ');
}

/** Every process's parent, from /proc/<pid>/stat (the field after the command name, which may hold spaces and parentheses). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProc(`/proc/${entry}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    out.set(Number(entry), ppid);
  }
  return out;
}

function childrenOf(pid: number): number[] {
  return [...parents()].filter(([, ppid]) => ppid === pid).map(([child]) => child);
}

/** `root` and all its descendants. */
export function processTree(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) byParent.set(ppid, [...(byParent.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (!readProc(`/proc/${pid}/stat`)) continue;
    out.push(pid);
    queue.push(...(byParent.get(pid) ?? []));
  }
  return out;
}
