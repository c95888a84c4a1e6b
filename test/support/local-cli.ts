/** Runs `npm run extract` (local/cli.ts) and the other local commands as a user does, each in its own process, and reads the extract's --report. */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { RunReport } from '../../local/pipeline/run-report';

const ROOT = join(__dirname, '..', '..');

export interface CliRun extends CommandRun {
  /** Absent when the run stopped before starting an execution (bad input), or died. */
  readonly report?: RunReport;
}

export interface CliOptions {
  /** Kill a hung run (SIGTERM, then SIGKILL 15 s later) after this long; keep it below the test's own timeout. */
  readonly timeoutMs?: number;
  /** Pass `--data-dir <dataDir>` and `--report` (default): off to give them, or leave them out, in `args`. */
  readonly standardArgs?: boolean;
  /** Run it as `npm start -- …` (npm, then node), as a person types it. */
  readonly viaNpm?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunningCli {
  /** Process id of the process started: the CLI's own, or npm's. */
  readonly pid: number;
  /** Sends a signal to the process started, or with `group` to its whole process group (as `timeout` and a terminal do). */
  signal(signal: NodeJS.Signals, group?: boolean): void;
  /** Resolves once stdout matches `pattern`; rejects if the run ends first. */
  waitForOutput(pattern: RegExp): Promise<void>;
  /** Settles once every process of the run has exited (its output closed). */
  readonly finished: Promise<CliRun>;
}

export function startExtractCli(args: readonly string[], dataDir: string, options: CliOptions = {}): RunningCli {
  const standard = options.standardArgs ?? true;
  const reportPath = standard ? join(dataDir, `report-${process.hrtime.bigint()}.json`) : undefined;
  const cliArgs = [...(standard ? ['--data-dir', dataDir, '--report', reportPath!] : []), ...args];
  const command = startLocalCommand('local/cli.ts', 'start', cliArgs, options);
  return {
    ...command,
    finished: command.finished.then(async (run) => {
      const text = reportPath ? await readFile(reportPath, 'utf8').catch(() => undefined) : undefined;
      if (reportPath) await rm(reportPath, { force: true });
      return { ...run, report: text === undefined ? undefined : (JSON.parse(text) as RunReport) };
    }),
  };
}

export type LocalCommandOptions = Omit<CliOptions, 'standardArgs'>;

export interface CommandRun {
  /** The exit code; 128 + the signal's number when a signal ended the process. */
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCommand extends Omit<RunningCli, 'finished'> {
  /** What it printed so far. */
  stdout(): string;
  readonly finished: Promise<CommandRun>;
}

/**
 * Runs one of the local commands (`script`, e.g. local/cli.ts) as package.json's `npmScript` runs it:
 * one node process (tsx's own CLI would put a process in front that SIGKILLs the command when it is
 * slow to acknowledge a SIGTERM), or with `viaNpm` through npm, as a person types it.
 */
export function startLocalCommand(script: string, npmScript: string, args: readonly string[], options: LocalCommandOptions = {}): RunningCommand {
  const [command, commandArgs] = options.viaNpm ? ['npm', ['run', npmScript, '--silent', '--', ...args]] : [process.execPath, ['--import', 'tsx', script, ...args]];
  // Its own process group, so a signal can reach every process of it, as from a terminal or `timeout`.
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiting = new Set<{ pattern: RegExp; resolve(): void; reject(error: Error): void }>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of waiting) {
      if (waiter.pattern.test(stdout)) {
        waiting.delete(waiter);
        waiter.resolve();
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    child.kill('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), 15_000).unref();
  }, options.timeoutMs ?? 100_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const finished = new Promise<CommandRun>((resolve) => {
    child.on('close', () => {
      void (async () => {
        clearTimeout(timer);
        ended = true;
        for (const waiter of waiting) waiter.reject(new Error(`the run ended before printing ${waiter.pattern}:\n${stdout}\n${stderr}`));
        waiting.clear();
        const { code, signal } = await exited;
        resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), signal, stdout, stderr });
      })();
    });
  });
  return {
    pid: child.pid!,
    signal: (signal, group = false) => (group ? signalGroup(signal) : child.kill(signal)),
    waitForOutput: (pattern) =>
      pattern.test(stdout)
        ? Promise.resolve()
        : ended
          ? Promise.reject(new Error(`the run ended before printing ${pattern}:\n${stdout}\n${stderr}`))
          : new Promise<void>((resolve, reject) => waiting.add({ pattern, resolve, reject })),
    stdout: () => stdout,
    finished,
  };
}

/** `timeoutMs`: a hung run is killed (SIGTERM) then; keep it below the test's own timeout. */
export async function runExtractCli(args: readonly string[], dataDir: string, timeoutMs = 100_000): Promise<CliRun> {
  return startExtractCli(args, dataDir, { timeoutMs }).finished;
}

/** The run's --report; fails with the run's output when it wrote none. */
export function cliReport(run: CliRun): RunReport {
  if (!run.report) throw new Error(`no report; exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  return run.report;
}
