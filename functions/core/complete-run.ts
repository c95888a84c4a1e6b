/**
 * CompleteRun, the last step: the month is marked SUCCEEDED in the ledger with what was published,
 * and the execution's output says what happened in one line.
 */
import { z } from 'zod';
import { runContextSchema, type RunContext } from './run-context';
import { publishedFileStatsSchema, type RunLedger, type RunStats } from './run-ledger';

/** What PublishExtracts returns (the fields relied on here; the rest is kept as given). */
export const publishOutputSchema = z.looseObject({
  files: z.array(publishedFileStatsSchema).readonly(),
  manifestKey: z.string().min(1),
  /** Loans left out of the numbers, per reason (absent from executions published before it was reported). */
  rowsRejected: z.record(z.string(), z.int().nonnegative()).optional(),
});

export type PublishOutput = z.infer<typeof publishOutputSchema>;

/** The CompleteRun state's payload. */
export const completeRunPayloadSchema = z.object({ run: runContextSchema, published: publishOutputSchema });

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
