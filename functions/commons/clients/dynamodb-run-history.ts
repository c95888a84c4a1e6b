/**
 * Every month's record of one extract in the run ledger, read with Scan (a handful of items a year per
 * extract); read-only. The loan extract's months include its records from before extracts were
 * templated (`month#…`) that no run or migration has copied yet; a month's copy wins over its old record.
 */
import { paginateScan, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_EXTRACT_ID } from '../../core/extract-id';
import type { RunHistorySource } from '../../core/run-history';
import type { MonthRecord } from '../../core/run-ledger';
import { extractKeyPrefix, LEGACY_MONTH_PREFIX, toMonthRecord } from './dynamodb-run-ledger';

export class DynamoDbRunHistory implements RunHistorySource {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async listMonths(extractId: string): Promise<MonthRecord[]> {
    const current = new Map<string, MonthRecord>();
    const legacy = new Map<string, MonthRecord>();
    const withLegacy = extractId === DEFAULT_EXTRACT_ID;
    const pages = paginateScan(
      { client: this.client },
      {
        TableName: this.tableName,
        FilterExpression: withLegacy ? 'begins_with(pk, :month) OR begins_with(pk, :legacy)' : 'begins_with(pk, :month)',
        ExpressionAttributeValues: { ':month': extractKeyPrefix(extractId), ...(withLegacy ? { ':legacy': LEGACY_MONTH_PREFIX } : {}) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const record = toMonthRecord({ ...item, extract: extractId });
        (String(item.pk).startsWith(LEGACY_MONTH_PREFIX) ? legacy : current).set(record.month, record);
      }
    }
    for (const [month, record] of legacy) if (!current.has(month)) current.set(month, record);
    return [...current.values()];
  }
}
