/**
 * The journal part of the run ledger in memory, for publishing's unit tests: it keeps the rule the
 * DynamoDB ledger enforces with its condition (only the month's holder begins a journal, one open at
 * a time per extract month). The DynamoDB implementation itself is tested against dynalite
 * (test/integration/dynamodb-run-ledger-journal.test.ts).
 */
import type { JournalLedger, PublishJournal } from '../../functions/core/publish-journal';
import { LeaseLostError } from '../../functions/core/run-ledger';

export class MemoryJournalLedger implements JournalLedger {
  /** By `<extract id> <month>`. */
  readonly journals = new Map<string, PublishJournal>();

  /** `holder`: the execution that holds every month (as ResolveRun left it). */
  constructor(public holder: string) {}

  async openJournal(extractId: string, month: string): Promise<PublishJournal | undefined> {
    const journal = this.journals.get(`${extractId} ${month}`);
    return journal && structuredClone(journal);
  }

  async beginPublish(extractId: string, month: string, journal: PublishJournal): Promise<void> {
    const key = `${extractId} ${month}`;
    if (journal.executionArn !== this.holder) throw new LeaseLostError(`${key} is held by ${this.holder}`);
    if (this.journals.has(key)) throw new LeaseLostError(`run ${this.journals.get(key)!.runId} has an unfinished publish of ${key}`);
    this.journals.set(key, structuredClone(journal));
  }

  async endPublish(extractId: string, month: string, runId: string): Promise<void> {
    const key = `${extractId} ${month}`;
    if (this.journals.get(key)?.runId === runId) this.journals.delete(key);
  }
}
