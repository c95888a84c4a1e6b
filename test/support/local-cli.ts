/** Runs `npm run extract` (local/cli.ts) as a user does, in its own process, and reads its --report. */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface CliReport {
  readonly outcome: 'succeeded' | 'skipped' | 'busy' | 'failed';
  readonly month: string;
  readonly executionName: string;
  readonly status: string;
  readonly error?: string;
  readonly cause?: string;
  readonly files: { key: string; path: string; rows: number; bytes: number; sha256: string }[];
  readonly ledgerStatus?: string;
  readonly emails: string[];
  readonly source: { kind: 'sample'; loans: number; today: string } | { kind: 'postgres' };
  readonly engine: 'duckdb' | 'spark';
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Absent when the run stopped before starting an execution (bad input). */
  readonly report?: CliReport;
}

/** `timeoutMs`: a hung run is killed (SIGTERM) then; keep it below the test's own timeout. */
export async function runExtractCli(args: readonly string[], dataDir: string, timeoutMs = 100_000): Promise<CliRun> {
  const reportPath = join(dataDir, `report-${process.hrtime.bigint()}.json`);
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['local/cli.ts', '--data-dir', dataDir, '--report', reportPath, ...args],
      // A hung run is killed (SIGTERM) before Jest's own timeout, so it cannot hold the data dir or ports.
      { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' }, maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs },
      (error, out, err) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout: out, stderr: err }),
    );
  });
  const text = await readFile(reportPath, 'utf8').catch(() => undefined);
  await rm(reportPath, { force: true });
  return { code, stdout, stderr, report: text === undefined ? undefined : (JSON.parse(text) as CliReport) };
}

/** The run's --report; fails with the run's output when it wrote none. */
export function cliReport(run: CliRun): CliReport {
  if (!run.report) throw new Error(`no report; exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  return run.report;
}
