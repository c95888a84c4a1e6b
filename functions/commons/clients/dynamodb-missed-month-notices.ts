/**
 * The missed-month check's once-a-day claims, in the run ledger table beside the months:
 *
 *   pk = missed#2024-03#2024-04-02   "the email about 2024-03 was sent on 2024-04-02" (expires after 90 days)
 *
 * Created only if absent, so two checks on the same day cannot both send.
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MissedMonthNotices } from '../../core/missed-month';
import { isConditionFailure } from './dynamodb-run-ledger';

const RETENTION_SECONDS = 90 * 24 * 3600;

export class DynamoDbMissedMonthNotices implements MissedMonthNotices {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(month: string, day: string, now: Date): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: missedKey(month, day), month, day, claimedAt: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + RETENTION_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async release(month: string, day: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: missedKey(month, day) } }));
  }
}

export function missedKey(month: string, day: string): string {
  return `missed#${month}#${day}`;
}
