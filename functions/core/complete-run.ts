/**
 * CompleteRun, the last step: the month is marked SUCCEEDED in the ledger with what was published,
 * and the execution's output says what happened in one line.
 */
import type { RunContext } from './run-context';
import type { PublishedFileStats, RunLedger, RunStats } from './run-ledger';

/** What PublishExtracts returns. */
export interface PublishOutput {
  readonly files: readonly PublishedFileStats[];
  readonly manifestKey: string;
  /** Absent from executions published before it was reported. */
  readonly rowsRejected?: Readonly<Record<string, number>>;
}

export interface CompleteRunOutput {
  readonly outcome: 'succeeded';
  readonly month: string;
  readonly runId: string;
  readonly manifestKey: string;
  readonly fileCount: number;
  readonly rows: number;
  readonly message: string;
}

export function runStats(published: PublishOutput): RunStats {
  return {
    manifestKey: published.manifestKey,
    fileCount: published.files.length,
    rows: published.files.reduce((sum, file) => sum + file.rows, 0),
    bytes: published.files.reduce((sum, file) => sum + file.bytes, 0),
    files: published.files,
    ...(published.rowsRejected ? { rowsRejected: published.rowsRejected } : {}),
  };
}

export async function completeRun(
  run: RunContext,
  published: PublishOutput,
  ledger: RunLedger,
  now: Date,
): Promise<CompleteRunOutput> {
  const stats = runStats(published);
  // Throws LeaseLost if another execution took the month over: this run must not claim success.
  await ledger.complete({ month: run.month, executionArn: run.executionArn, runId: run.runId, stats, now });
  return {
    outcome: 'succeeded',
    month: run.month,
    runId: run.runId,
    manifestKey: stats.manifestKey,
    fileCount: stats.fileCount,
    rows: stats.rows,
    message:
      `Published ${stats.fileCount} file${stats.fileCount === 1 ? '' : 's'} for ${run.month} ` +
      `(${stats.rows} rows); manifest ${stats.manifestKey}.`,
  };
}
