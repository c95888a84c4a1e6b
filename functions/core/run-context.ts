/**
 * What ResolveRun hands to every later state of one execution (the state machine keeps it at
 * `$.run`). Plain data: it must survive JSON between states.
 */
import type { MonthWindow } from './month';

export interface RunContext {
  /** The extract month, `YYYY-MM`. */
  readonly month: string;
  /** Unique per execution (the execution's name); names staging and part files. */
  readonly runId: string;
  /** ARN of the execution that holds the month in the ledger. */
  readonly executionArn: string;
  /** Re-run of a month that already succeeded. */
  readonly force: boolean;
  /** The month's window and file-naming parts, computed once by the month logic. */
  readonly window: MonthWindow;
  /** Key prefix (ending in `/`) in the extract bucket where the Glue job writes this run's staging layout. */
  readonly stagingPrefix: string;
}

/** Staging lives beside the extracts, under a prefix a lifecycle rule expires. */
export function stagingPrefixFor(month: string, runId: string): string {
  return `staging/month=${month}/run=${runId}/`;
}
