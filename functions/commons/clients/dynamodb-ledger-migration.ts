/**
 * The run ledger before extracts were templated kept one record per month, `pk = month#2024-03`; all
 * of them are the loan extract's. This copies each to its extract key,
 * `extract#loan-moving-average#month#2024-03`, with the record's `extract` set. Each copy is created
 * only if absent (attribute_not_exists), so running it again, or after a run of the new code took a
 * month, never overwrites a newer record. The old items are left in place (the stage's backups keep
 * the history as it was) and counted in the report.
 *
 * The ledger copies a month the same way (copyLegacyMonth) the first time a run takes the loan
 * extract's month or settles its journal, so the pipeline is right before this has run; this copies
 * every month at once, so the old items can be forgotten.
 */
import { paginateScan, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_EXTRACT_ID } from '../../core/extract-id';
import { copyLegacyMonth, LEGACY_MONTH_PREFIX } from './dynamodb-run-ledger';

export interface LedgerMigration {
  /** Months copied to their extract key now. */
  readonly copied: readonly string[];
  /** Months whose extract key already had a record (an earlier migration, or a run since): left as they are. */
  readonly alreadyPresent: readonly string[];
  /** Old `month#` items found; all are left in the table. */
  readonly legacyItems: number;
}

export async function migrateLegacyLedger(client: DynamoDBDocumentClient, tableName: string, extractId = DEFAULT_EXTRACT_ID): Promise<LedgerMigration> {
  const copied: string[] = [];
  const alreadyPresent: string[] = [];
  let legacyItems = 0;
  const pages = paginateScan(
    { client },
    { TableName: tableName, FilterExpression: 'begins_with(pk, :legacy)', ExpressionAttributeValues: { ':legacy': LEGACY_MONTH_PREFIX }, ConsistentRead: true },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      legacyItems++;
      const month = String(item.pk).slice(LEGACY_MONTH_PREFIX.length);
      const outcome = await copyLegacyMonth(client, tableName, item, extractId);
      (outcome === 'copied' ? copied : alreadyPresent).push(month);
    }
  }
  return { copied: copied.sort(), alreadyPresent: alreadyPresent.sort(), legacyItems };
}

/** One line for the CLI and the local runner; undefined when there was nothing to migrate. */
export function describeMigration(migration: LedgerMigration, extractId = DEFAULT_EXTRACT_ID): string | undefined {
  if (migration.legacyItems === 0) return undefined;
  const parts = [
    `${migration.copied.length} month record(s) copied to ${extractId}${migration.copied.length ? ` (${migration.copied.join(', ')})` : ''}`,
    ...(migration.alreadyPresent.length ? [`${migration.alreadyPresent.length} already had a record under ${extractId}, left as it is (${migration.alreadyPresent.join(', ')})`] : []),
    `the ${migration.legacyItems} old month# item(s) are left in the table`,
  ];
  return `Run ledger migrated to records per extract: ${parts.join('; ')}.`;
}
