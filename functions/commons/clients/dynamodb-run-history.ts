/** Every month's record of one extract in the run ledger, read with Scan (a handful of items a year per extract); read-only. */
import { paginateScan, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunHistorySource } from '../../core/run-history';
import type { MonthRecord } from '../../core/run-ledger';
import { extractKeyPrefix, toMonthRecord } from './dynamodb-run-ledger';

export class DynamoDbRunHistory implements RunHistorySource {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async listMonths(extractId: string): Promise<MonthRecord[]> {
    const records: MonthRecord[] = [];
    const pages = paginateScan(
      { client: this.client },
      { TableName: this.tableName, FilterExpression: 'begins_with(pk, :month)', ExpressionAttributeValues: { ':month': extractKeyPrefix(extractId) }, ConsistentRead: true },
    );
    for await (const page of pages) for (const item of page.Items ?? []) records.push(toMonthRecord(item));
    return records;
  }
}
