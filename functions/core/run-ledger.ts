/**
 * The run ledger: one record per extract and month saying who holds it and how its last run ended.
 * Extracts never share a record: each extract's months are taken, run and failed on their own.
 * The storage (DynamoDB, `commons/clients/dynamodb-run-ledger.ts`) enforces the rules below with
 * conditional writes, so two executions can never both hold a month; this module owns the types
 * and the rules in plain TypeScript.
 *
 * A month may be taken when:
 *   - it has no record,
 *   - its last run FAILED,
 *   - it is RUNNING but the holder's lease has expired (the holder timed out or was aborted),
 *   - it SUCCEEDED and the caller forces a re-run.
 * Otherwise the caller is told why not: `skipped` (already succeeded) or `busy` (a live holder).
 * Completing or failing a run is only allowed to the execution that holds the month.
 *
 * The record also keeps the month's open publish journal (core/publish-journal.ts) while a run is
 * writing final keys, so a crash mid-publish can be settled by whoever acts on the month next.
 */
import { z } from 'zod';
import type { JournalLedger, PublishJournal } from './publish-journal';

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/**
 * One published file as the publish step reports it. The ledger keeps the whole entry (bank,
 * control totals...) as given, so it reads like the manifest; only these fields are relied on.
 */
export const publishedFileStatsSchema = z
  .looseObject({
    key: z.string().min(1),
    rows: z.int().nonnegative(),
    bytes: z.int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256'),
  })
  .readonly();

export type PublishedFileStats = z.infer<typeof publishedFileStatsSchema>;

export interface RunStats {
  readonly manifestKey: string;
  readonly fileCount: number;
  readonly rows: number;
  readonly bytes: number;
  readonly files: readonly PublishedFileStats[];
  /** Loans left out of the numbers, per reason (the manifest's); absent on months run before it was kept. */
  readonly rowsRejected?: Readonly<Record<string, number>>;
}

export interface RunFailure {
  /** The state machine step that failed, e.g. `StartExtractJob`. */
  readonly failedStep: string;
  readonly error: string;
  readonly cause: string;
}

export interface RecordedFailure extends RunFailure {
  readonly executionArn: string;
  /** ISO-8601 UTC. */
  readonly at: string;
}

/** One line of a month's history: every take, success and failure, oldest first. */
export interface HistoryEvent {
  readonly event: 'started' | 'succeeded' | 'failed';
  readonly at: string;
  readonly executionArn: string;
  readonly runId: string;
  readonly force?: boolean;
  readonly failedStep?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly manifestKey?: string;
  readonly fileCount?: number;
}

export interface MonthRecord {
  /** The extract's id (core/extract-definition.ts). */
  readonly extract: string;
  readonly month: string;
  readonly status: RunStatus;
  /** The execution that holds (or last held) the month. */
  readonly executionArn: string;
  readonly runId: string;
  readonly force: boolean;
  /** How many times the month has been taken, over all executions. */
  readonly attempt: number;
  /** ISO-8601 UTC; after it a RUNNING holder is presumed dead. */
  readonly leaseExpiresAt: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** Stats of the last successful run. */
  readonly stats?: RunStats;
  readonly lastError?: RecordedFailure;
  /** The journal of a publish that has begun and not yet ended (a crash leaves it here). */
  readonly publishing?: PublishJournal;
  readonly history: readonly HistoryEvent[];
}

export interface TakeRequest {
  /** The extract's id. */
  readonly extract: string;
  readonly month: string;
  readonly executionArn: string;
  readonly runId: string;
  readonly force: boolean;
  readonly now: Date;
  readonly leaseExpiresAt: Date;
}

export type TakeResult =
  | { readonly kind: 'taken'; readonly attempt: number }
  | { readonly kind: 'skipped'; readonly record: MonthRecord }
  | { readonly kind: 'busy'; readonly record: MonthRecord };

export interface CompleteRequest {
  /** The extract's id. */
  readonly extract: string;
  readonly month: string;
  readonly executionArn: string;
  readonly runId: string;
  readonly stats: RunStats;
  readonly now: Date;
}

export interface FailRequest {
  /** The extract's id. */
  readonly extract: string;
  readonly month: string;
  readonly executionArn: string;
  readonly runId: string;
  readonly failure: RunFailure;
  readonly now: Date;
}

/** `not-holder`: the month is held by, or was last run by, someone else (or not at all); nothing written. */
export type FailResult =
  | { readonly kind: 'marked' }
  | { readonly kind: 'not-holder'; readonly record: MonthRecord | undefined };

export interface RunLedger extends JournalLedger {
  take(request: TakeRequest): Promise<TakeResult>;
  /** Marks the month SUCCEEDED with its stats (closing its journal); LeaseLostError if the caller no longer holds it. */
  complete(request: CompleteRequest): Promise<void>;
  /** Marks the month FAILED, only if the caller holds it. */
  fail(request: FailRequest): Promise<FailResult>;
  get(extractId: string, month: string): Promise<MonthRecord | undefined>;
  /**
   * Records that the failure of `executionArn` is being emailed; false if it already was. Both the
   * in-workflow NotifyFailure and the status-change event go through this, so each execution
   * emails once.
   */
  claimFailureNotice(executionArn: string, now: Date): Promise<boolean>;
  /** Undoes a claim whose email could not be sent, so another path may still send it. */
  releaseFailureNotice(executionArn: string): Promise<void>;
}

/** The caller tried to complete a month it no longer holds (its lease expired and another run took it). */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLost';
}

export type HoldVerdict = 'takeable' | 'held-by-caller' | 'busy' | 'skipped';

/** What a month's current record means for an execution that wants it (the rules at the top). */
export function holdVerdict(
  record: MonthRecord | undefined,
  request: Pick<TakeRequest, 'executionArn' | 'force' | 'now'>,
): HoldVerdict {
  if (record === undefined) return 'takeable';
  switch (record.status) {
    case 'FAILED':
      return 'takeable';
    case 'SUCCEEDED':
      return request.force ? 'takeable' : 'skipped';
    case 'RUNNING':
      // The holder asking again is a retried ResolveRun, not a second run.
      if (record.executionArn === request.executionArn) return 'held-by-caller';
      return leaseExpired(record, request.now) ? 'takeable' : 'busy';
  }
}

/** A RUNNING holder whose lease has run out is presumed dead (timed out, aborted). */
export function leaseExpired(record: MonthRecord, now: Date): boolean {
  return Date.parse(record.leaseExpiresAt) < now.getTime();
}

/** Causes can be long stack-laden texts; the ledger keeps enough to read, DynamoDB items stay small. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 15)}... [truncated]`;
}
