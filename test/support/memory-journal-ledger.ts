/**
 * The journal part of the run ledger in memory, for publishing's unit tests: it keeps the rule the
 * DynamoDB ledger enforces with its condition (only the month's holder begins a journal, one open at
 * a time). The DynamoDB implementation itself is tested against dynalite
 * (test/integration/dynamodb-run-ledger-journal.test.ts).
 */
import type { JournalLedger, PublishJournal } from '../../functions/core/publish-journal';
import { LeaseLostError } from '../../functions/core/run-ledger';

export class MemoryJournalLedger implements JournalLedger {
  readonly journals = new Map<string, PublishJournal>();

  /** `holder`: the execution that holds every month (as ResolveRun left it). */
  constructor(public holder: string) {}

  async openJournal(month: string): Promise<PublishJournal | undefined> {
    const journal = this.journals.get(month);
    return journal && structuredClone(journal);
  }

  async beginPublish(month: string, journal: PublishJournal): Promise<void> {
    if (journal.executionArn !== this.holder) throw new LeaseLostError(`${month} is held by ${this.holder}`);
    if (this.journals.has(month)) throw new LeaseLostError(`run ${this.journals.get(month)!.runId} has an unfinished publish of ${month}`);
    this.journals.set(month, structuredClone(journal));
  }

  async endPublish(month: string, runId: string): Promise<void> {
    if (this.journals.get(month)?.runId === runId) this.journals.delete(month);
  }
}
