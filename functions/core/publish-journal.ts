/**
 * The publish journal: before a run touches its first final key, it records in the run ledger every
 * key it is about to write and the version each one replaces. A run that dies mid-publish (a killed
 * process, a Lambda timeout, a dead sandbox) leaves its journal behind, and whoever acts on the
 * month next (a retried PublishExtracts, the failure path, the next execution's ResolveRun, the
 * local CLI) settles it before doing anything else:
 *   - the journal's manifest is in place: the manifest is written last, so the run had published
 *     every file; the journal is closed and the files stand;
 *   - otherwise every journaled key is put back to the version it replaced (or removed, if it did
 *     not exist), the manifest included; the month's final keys then match its previous manifest.
 * So the month's files always match one manifest, whatever the crash point. Rolling back needs a
 * versioned bucket, which the extract bucket is (resources/storage.yml).
 */
import { parseManifest } from './manifest';
import { readText, type ObjectStore } from './object-store';

export interface JournaledKey {
  readonly key: string;
  /** The version this run replaces, or null when the key did not exist before it. */
  readonly previousVersionId: string | null;
}

export interface PublishJournal {
  readonly runId: string;
  readonly executionArn: string;
  readonly manifestKey: string;
  /** ISO-8601 UTC. */
  readonly startedAt: string;
  /** Every final key the run writes, the manifest last. */
  readonly keys: readonly JournaledKey[];
}

/** Where journals are kept: the extract month's record in the run ledger (core/run-ledger.ts). */
export interface JournalLedger {
  /** The month's open journal, if any. */
  openJournal(extractId: string, month: string): Promise<PublishJournal | undefined>;
  /** Records the journal; LeaseLostError unless the journal's execution holds the month and none is open. */
  beginPublish(extractId: string, month: string, journal: PublishJournal, now: Date): Promise<void>;
  /** Closes the journal of `runId`; does nothing when the open journal is another run's or none. */
  endPublish(extractId: string, month: string, runId: string, now: Date): Promise<void>;
}

export type Settlement =
  | { readonly kind: 'none' }
  | { readonly kind: 'completed'; readonly runId: string; readonly executionArn: string; readonly manifestKey: string }
  | {
      readonly kind: 'rolled-back';
      readonly runId: string;
      readonly executionArn: string;
      /** Keys put back to the version they held before the run. */
      readonly restored: readonly string[];
      /** Keys the run had created, removed. */
      readonly removed: readonly string[];
    };

/** Some keys of an unfinished publish could not be put back; its journal stays open for the next try. */
export class PublishRollbackError extends Error {
  override readonly name = 'PublishRollbackError';
}

/** What every key of the journal holds now, so the journal can be written before the first write. */
export async function journalFor(
  store: ObjectStore,
  run: { readonly runId: string; readonly executionArn: string },
  manifestKey: string,
  keys: readonly string[],
  now: Date,
): Promise<PublishJournal> {
  const journaled: JournaledKey[] = [];
  for (const key of keys) {
    const current = await store.head(key);
    if (current && current.versionId === undefined) {
      // Without versions a replaced file could not be put back after a crash.
      throw new Error(`${key} has no version id: the extract bucket must keep versions (S3 versioning), so a failed publish can be rolled back`);
    }
    journaled.push({ key, previousVersionId: current?.versionId ?? null });
  }
  return { runId: run.runId, executionArn: run.executionArn, manifestKey, startedAt: now.toISOString(), keys: journaled };
}

/**
 * Settles the month's open journal, if any (see the top of this file). `onlyExecutionArn` limits it
 * to that execution's journal: the failure path settles its own run's publish, never another's.
 */
export async function settleUnfinishedPublish(
  store: ObjectStore,
  ledger: JournalLedger,
  extractId: string,
  month: string,
  now: Date,
  onlyExecutionArn?: string,
): Promise<Settlement> {
  const journal = await ledger.openJournal(extractId, month);
  if (!journal || (onlyExecutionArn !== undefined && journal.executionArn !== onlyExecutionArn)) return { kind: 'none' };
  const { runId, executionArn, manifestKey } = journal;
  if ((await manifestRunId(store, manifestKey)) === runId) {
    await ledger.endPublish(extractId, month, runId, now);
    return { kind: 'completed', runId, executionArn, manifestKey };
  }
  const { restored, removed } = await rollBackJournal(store, journal);
  await ledger.endPublish(extractId, month, runId, now);
  return { kind: 'rolled-back', runId, executionArn, restored, removed };
}

/**
 * Puts every journaled key back as it was, manifest first (so no moment shows the run's manifest
 * over older files). Idempotent: run twice, it leaves the same bytes. Throws PublishRollbackError
 * naming the keys it could not put back, after trying all of them.
 */
export async function rollBackJournal(store: ObjectStore, journal: PublishJournal): Promise<{ restored: string[]; removed: string[] }> {
  const restored: string[] = [];
  const removed: string[] = [];
  const failed: string[] = [];
  const manifestFirst = [...journal.keys].sort((a, b) => Number(b.key === journal.manifestKey) - Number(a.key === journal.manifestKey));
  for (const { key, previousVersionId } of manifestFirst) {
    try {
      const current = await store.head(key);
      if (previousVersionId === null) {
        if (current) {
          await store.delete(key);
          removed.push(key);
        }
      } else if (current?.versionId !== previousVersionId) {
        await store.copy(key, key, { sourceVersionId: previousVersionId });
        restored.push(key);
      }
    } catch (error) {
      failed.push(`${key} (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`);
    }
  }
  if (failed.length > 0) {
    throw new PublishRollbackError(
      `An unfinished publish of run ${journal.runId} could not be rolled back for these files: ${failed.join('; ')}. ` +
        'Its journal stays in the run ledger and the next run of the month tries again; to fix it by hand, ' +
        'restore each file to the version named in the journal (the month\'s ledger record, attribute publishing).',
    );
  }
  return { restored, removed };
}

/** One line for an email, a log or the CLI. */
export function describeSettlement(settlement: Settlement): string | undefined {
  switch (settlement.kind) {
    case 'none':
      return undefined;
    case 'completed':
      return `The publish of run ${settlement.runId} had completed (its manifest ${settlement.manifestKey} is in place); its files stand.`;
    case 'rolled-back':
      return (
        `The unfinished publish of run ${settlement.runId} was rolled back: ${settlement.restored.length} file(s) restored ` +
        `to their previous version, ${settlement.removed.length} removed; the month's files are as they were before it.`
      );
  }
}

async function manifestRunId(store: ObjectStore, key: string): Promise<string | undefined> {
  if (!(await store.head(key))) return undefined;
  const text = await readText(store, key);
  try {
    return parseManifest(text).runId;
  } catch {
    // An unreadable manifest is not this run's: roll back to what was there before.
    return undefined;
  }
}
