/**
 * The missed-month check's once-a-day claims, in the run ledger table beside the months:
 *
 *   pk = missed#<id>#2024-03#2024-04-02   "the email about extract <id>'s 2024-03 was sent on 2024-04-02"
 *                                        (expires after 90 days)
 *
 * Created only if absent, so two checks on the same day cannot both send.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MissedMonthNotices } from '../../core/missed-month';
import { claimOnce, releaseClaim } from './dynamodb-run-ledger';

export class DynamoDbMissedMonthNotices implements MissedMonthNotices {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  claim(extractId: string, month: string, day: string, now: Date): Promise<boolean> {
    return claimOnce(this.client, this.tableName, missedKey(extractId, month, day), { extract: extractId, month, day }, now);
  }

  release(extractId: string, month: string, day: string): Promise<void> {
    return releaseClaim(this.client, this.tableName, missedKey(extractId, month, day));
  }
}

export function missedKey(extractId: string, month: string, day: string): string {
  return `missed#${extractId}#${month}#${day}`;
}
