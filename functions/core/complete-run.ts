/**
 * CompleteRun, the last step: the month is marked SUCCEEDED in the ledger with what was published,
 * and the execution's output says what happened in one line.
 */
import { z } from 'zod';
import { estimatedCostSchema } from './run-cost';
import { runContextSchema, type RunContext } from './run-context';
import { publishedFileStatsSchema, type RunLedger, type RunStats } from './run-ledger';

/** What PublishExtracts returns (the fields relied on here; the rest is kept as given). */
export const publishOutputSchema = z.looseObject({
  files: z.array(publishedFileStatsSchema).readonly(),
  manifestKey: z.string().min(1),
  /** Loans left out of the numbers, per reason (absent from executions published before it was reported). */
  rowsRejected: z.record(z.string(), z.int().nonnegative()).optional(),
  /** The manifest's estimated cost of the run (absent when publishing had no usage to price). */
  estimatedCost: estimatedCostSchema.optional(),
});

export type PublishOutput = z.infer<typeof publishOutputSchema>;

/** The CompleteRun state's payload. */
export const completeRunPayloadSchema = z.object({
  run: runContextSchema,
  published: publishOutputSchema,
  /** `$$.Execution.StartTime`, for the run's duration (absent from executions started before it was passed). */
  executionStartTime: z.iso.datetime({ offset: true }).optional(),
});

export interface CompleteRunOutput {
  readonly outcome: 'succeeded';
  readonly month: string;
  readonly runId: string;
  readonly manifestKey: string;
  readonly fileCount: number;
  readonly rows: number;
  /** From the execution's start to now, whole seconds. */
  readonly durationSeconds?: number;
  /** The manifest's estimated cost of the run, USD (core/run-cost.ts). */
  readonly estimatedCostUsd?: string;
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
  executionStartTime?: string,
): Promise<CompleteRunOutput> {
  const stats = runStats(published);
  const durationSeconds = executionStartTime === undefined ? undefined : Math.max(0, Math.round((now.getTime() - Date.parse(executionStartTime)) / 1000));
  const cost = published.estimatedCost?.total;
  // Throws LeaseLost if another execution took the month over: this run must not claim success.
  await ledger.complete({ extract: run.extract.id, month: run.month, executionArn: run.executionArn, runId: run.runId, stats, now });
  return {
    outcome: 'succeeded',
    month: run.month,
    runId: run.runId,
    manifestKey: stats.manifestKey,
    fileCount: stats.fileCount,
    rows: stats.rows,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(cost === undefined ? {} : { estimatedCostUsd: cost }),
    message:
      `Published ${stats.fileCount} file${stats.fileCount === 1 ? '' : 's'} for ${run.month} ` +
      `(${stats.rows} rows); manifest ${stats.manifestKey}.` +
      (cost === undefined ? '' : ` Estimated cost USD ${cost}.`),
  };
}
