/**
 * What `npm start -- --report FILE` writes (local/cli.ts): how the month's run ended, in JSON, for
 * the programs that run the CLI and read it (backfill, the bench, the tests).
 */
import type { EstimatedCost } from '../../functions/core/run-cost';
import type { GlueEngine } from '../stand-ins/glue';
import type { StateTiming } from './progress';

export interface RunReport {
  readonly outcome: 'succeeded' | 'skipped' | 'busy' | 'failed';
  /** The extract's id. */
  readonly extract: string;
  readonly month: string;
  /** The month's manifest key in the extract bucket, when the month has one. */
  readonly manifestKey?: string;
  readonly executionName: string;
  readonly status: string;
  /** Error name and cause of a failed execution. */
  readonly error?: string;
  readonly cause?: string;
  readonly totalMs: number;
  readonly states: readonly StateTiming[];
  /** The month's published files: their keys in the extract bucket and plain copies under the data dir. */
  readonly files: readonly { readonly key: string; readonly path: string; readonly rows: number; readonly bytes: number; readonly sha256: string }[];
  /** The manifest's estimated cost, when this run published it. */
  readonly estimatedCost?: EstimatedCost;
  /** Published files whose plain copy is not what the manifest says. */
  readonly mismatchedFiles: readonly string[];
  readonly ledgerStatus?: string;
  /** The outbox's emails of this run. */
  readonly emails: readonly string[];
  /** A dead execution that held the month, released before this run's execution started. */
  readonly released?: ReleasedHolder;
  readonly source: { readonly kind: 'sample'; readonly loans: number; readonly today: string } | { readonly kind: 'postgres'; readonly url: string };
  readonly engine: GlueEngine;
}

export interface ReleasedHolder {
  readonly executionArn: string;
  readonly emails: string[];
  readonly error?: string;
}
