/**
 * Runs one measured child process: wall time, exit, output, and what bench/probe.js recorded in each
 * Node process it started (bytes read from PostgreSQL, peak RSS). A child that outlives its time
 * limit is killed with its whole process group.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROBE_SCRIPT = join(__dirname, 'probe.js');

export interface ProbeRecord {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly peakRssBytes: number;
  readonly pgConnections: number;
  readonly pgBytesRead: number;
  readonly pgBytesWritten: number;
}

export interface ChildResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly wallMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly probes: readonly ProbeRecord[];
}

export interface ChildOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  /** Port of the PostgreSQL server whose traffic the probe counts. */
  readonly pgPort?: number;
  /** Send stdout to this file instead of capturing it. */
  readonly stdoutFile?: string;
  /** Preload bench/probe.js into Node processes (default true). */
  readonly probe?: boolean;
}

const MAX_CAPTURE = 1 << 20;

export async function runChild(command: string, args: readonly string[], options: ChildOptions): Promise<ChildResult> {
  const probeDir = await mkdtemp(join(tmpdir(), 'bench-probe-'));
  const stdoutFd = options.stdoutFile ? openSync(options.stdoutFile, 'w') : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.probe !== false) {
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require ${PROBE_SCRIPT}`.trim();
    env.BENCH_PROBE_DIR = probeDir;
    env.BENCH_PROBE_PG_PORT = String(options.pgPort ?? 0);
  }
  const started = performance.now();
  try {
    const child = spawn(command, args, { cwd: options.cwd, env, detached: true, stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_CAPTURE) stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-MAX_CAPTURE);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, options.timeoutMs);
    const { exitCode, signal } = await new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, sig) => resolve({ exitCode: code, signal: sig }));
    }).finally(() => clearTimeout(timer));
    const wallMs = performance.now() - started;
    const probes: ProbeRecord[] = [];
    for (const file of await readdir(probeDir)) {
      probes.push(JSON.parse(await readFile(join(probeDir, file), 'utf8')) as ProbeRecord);
    }
    return { exitCode, signal, timedOut, wallMs, stdout, stderr, probes };
  } finally {
    if (stdoutFd !== undefined) closeSync(stdoutFd);
    await rm(probeDir, { recursive: true, force: true });
  }
}

/** Peak RSS of the largest process, and the PostgreSQL bytes of all of them. */
export function summarizeProbes(probes: readonly ProbeRecord[]): { peakRssBytes?: number; pgBytesRead?: number; pgConnections?: number } {
  if (probes.length === 0) return {};
  return {
    peakRssBytes: Math.max(...probes.map((p) => p.peakRssBytes)),
    pgBytesRead: probes.reduce((sum, p) => sum + p.pgBytesRead, 0),
    pgConnections: probes.reduce((sum, p) => sum + p.pgConnections, 0),
  };
}

/** The last lines of a child's stderr, for an error message. */
export function tail(text: string, lines = 8): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
