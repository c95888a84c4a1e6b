/**
 * The run ledger in DynamoDB. Table: partition key `pk` (string), TTL attribute `expiresAt`.
 *
 *   pk = extract#<id>#month#2024-03   the extract month's record (MonthRecord), history in its `history`
 *                                     list, the open publish journal in `publishing` (gzipped JSON: its
 *                                     keys repeat, and an item holds 400 KB; its run id in
 *                                     `publishingRunId`, so conditions compare a top-level attribute)
 *   pk = notice#<executionArn>        "this execution's failure was emailed" (expires after 90 days)
 *
 *   pk = month#2024-03                 a record written before extracts were templated: the loan
 *                                     extract's (DEFAULT_EXTRACT_ID). Until `npm run ledger:migrate`
 *                                     has copied them all, the ledger copies one (copyLegacyMonth) before
 *                                     it takes the loan extract's month or settles its journal, and
 *                                     `get` reads it when the month has no extract# record yet, so a
 *                                     month that ran before the deploy never looks unrun.
 *
 * Every write that changes who holds a month is conditional on the rules in core/run-ledger.ts, so
 * the rules hold even when two executions read the same record at the same moment.
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import {
  clip,
  holdVerdict,
  LeaseLostError,
  type CompleteRequest,
  type FailRequest,
  type FailResult,
  type HistoryEvent,
  type MonthRecord,
  type RunLedger,
  type TakeRequest,
  type TakeResult,
} from '../../core/run-ledger';
import { DEFAULT_EXTRACT_ID } from '../../core/extract-id';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { PublishJournal } from '../../core/publish-journal';

/** Takes tried when a refused item changes before it can be read (see take). */
const TAKE_ATTEMPTS = 3;
const CLAIM_RETENTION_SECONDS = 90 * 24 * 3600;
const HISTORY_CAUSE_CHARS = 1000;
const LAST_ERROR_CAUSE_CHARS = 4000;

export class DynamoDbRunLedger implements RunLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * The month's record; for the loan extract, its record from before extracts were templated when it
   * has no other. Read-only (the missed-month check needs no write), so that record is not copied here.
   */
  async get(extractId: string, month: string): Promise<MonthRecord | undefined> {
    const item = (await this.item(monthKey(extractId, month))) ?? (extractId === DEFAULT_EXTRACT_ID ? await this.item(legacyMonthKey(month)) : undefined);
    return item ? toMonthRecord({ ...item, extract: extractId }) : undefined;
  }

  private async item(pk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }));
    return Item;
  }

  /**
   * Before a write that could create the loan extract's month record: its record from before
   * extracts were templated, if it has one, is copied first. Otherwise a take would create a fresh
   * record over a SUCCEEDED month (and re-run it), and the migration would then skip the old one
   * with its open publish journal. One read when the month already has its record.
   */
  private async adoptLegacyMonth(extractId: string, month: string): Promise<void> {
    if (extractId !== DEFAULT_EXTRACT_ID || (await this.item(monthKey(extractId, month)))) return;
    const legacy = await this.item(legacyMonthKey(month));
    if (legacy) await copyLegacyMonth(this.client, this.tableName, legacy, extractId);
  }

  /**
   * One conditional write takes the month when the rules of core/run-ledger.ts allow it, so two
   * executions can never both take it. On refusal DynamoDB hands back the item that refused it
   * (ALL_OLD), and holdVerdict only explains why: busy, skipped, or this execution already holds it.
   */
  async take(request: TakeRequest): Promise<TakeResult> {
    await this.adoptLegacyMonth(request.extract, request.month);
    for (let round = 0; round < TAKE_ATTEMPTS; round++) {
      const written = await this.writeTake(request);
      if ('attempt' in written) return { kind: 'taken', attempt: written.attempt };
      const current = written.refusedBy ?? (await this.get(request.extract, request.month));
      switch (holdVerdict(current, request)) {
        case 'busy':
          return { kind: 'busy', record: current! };
        case 'skipped':
          return { kind: 'skipped', record: current! };
        case 'held-by-caller':
          return { kind: 'taken', attempt: current!.attempt };
        case 'takeable':
        // Only when the refused item did not come back with the refusal (DynamoDB stand-ins) and
        // it changed before we read it: the write is tried again.
      }
    }
    throw new Error(
      `Could not take ${request.extract} ${request.month}: its ledger record changed ${TAKE_ATTEMPTS} times while taking it; ` +
        'other executions are racing for it. Start this execution again.',
    );
  }

  /** The take itself: the new attempt number, or the item that refused it when DynamoDB sent it back. */
  private async writeTake(request: TakeRequest): Promise<{ attempt: number } | { refusedBy: MonthRecord | undefined }> {
    const now = request.now.toISOString();
    const started: HistoryEvent = {
      event: 'started',
      at: now,
      executionArn: request.executionArn,
      runId: request.runId,
      force: request.force,
    };
    // The rules of core/run-ledger.ts as DynamoDB checks them at write time. A RUNNING holder asking
    // again (a retried ResolveRun) is refused here and recognised by holdVerdict, never re-taken.
    const takeable = [
      'attribute_not_exists(pk)',
      '#status = :failed',
      '(#status = :running AND #leaseExpiresAt < :now AND #executionArn <> :executionArn)',
    ];
    if (request.force) takeable.push('#status = :succeeded');
    const values: Record<string, unknown> = {
      ':running': 'RUNNING',
      ':failed': 'FAILED',
      ':extract': request.extract,
      ':month': request.month,
      ':executionArn': request.executionArn,
      ':runId': request.runId,
      ':force': request.force,
      ':one': 1,
      ':leaseExpiresAt': request.leaseExpiresAt.toISOString(),
      ':now': now,
      ':started': [started],
      ':empty': [],
    };
    if (request.force) values[':succeeded'] = 'SUCCEEDED';
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: monthKey(request.extract, request.month) },
          UpdateExpression:
            'SET #status = :running, #extract = :extract, #month = :month, #executionArn = :executionArn, #runId = :runId, ' +
            '#force = :force, #leaseExpiresAt = :leaseExpiresAt, #startedAt = :now, #updatedAt = :now, ' +
            '#history = list_append(if_not_exists(#history, :empty), :started) REMOVE #finishedAt ADD #attempt :one',
          ConditionExpression: takeable.join(' OR '),
          ExpressionAttributeNames: names(
            'status',
            'extract',
            'month',
            'executionArn',
            'runId',
            'force',
            'attempt',
            'leaseExpiresAt',
            'startedAt',
            'updatedAt',
            'history',
            'finishedAt',
          ),
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { attempt: Number(Attributes?.attempt) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { refusedBy: refusedItem(error) };
    }
  }

  async complete(request: CompleteRequest): Promise<void> {
    const now = request.now.toISOString();
    const succeeded: HistoryEvent = {
      event: 'succeeded',
      at: now,
      executionArn: request.executionArn,
      runId: request.runId,
      manifestKey: request.stats.manifestKey,
      fileCount: request.stats.fileCount,
    };
    // A completed run's publish is over: its journal, if PublishExtracts could not close it, goes too.
    if (await this.finish(request.extract, request.month, request.executionArn, 'SUCCEEDED', 'stats', request.stats, succeeded, ' REMOVE #publishing, #publishingRunId')) return;
    const current = await this.get(request.extract, request.month);
    // A retried CompleteRun whose first call did write: already done.
    if (current?.status === 'SUCCEEDED' && current.executionArn === request.executionArn) return;
    throw new LeaseLostError(
      `${request.extract} ${request.month} is no longer held by this execution, so it was not marked SUCCEEDED: ` +
        (current
          ? `the ledger shows ${current.status} by ${current.executionArn} (its lease ran to ${current.leaseExpiresAt}).`
          : 'the ledger has no record of it.'),
    );
  }

  async fail(request: FailRequest): Promise<FailResult> {
    const now = request.now.toISOString();
    const { failedStep, error, cause } = request.failure;
    const failed: HistoryEvent = {
      event: 'failed',
      at: now,
      executionArn: request.executionArn,
      runId: request.runId,
      failedStep,
      error,
      cause: clip(cause, HISTORY_CAUSE_CHARS),
    };
    const lastError = { executionArn: request.executionArn, at: now, failedStep, error, cause: clip(cause, LAST_ERROR_CAUSE_CHARS) };
    if (await this.finish(request.extract, request.month, request.executionArn, 'FAILED', 'lastError', lastError, failed)) return { kind: 'marked' };
    return { kind: 'not-holder', record: await this.get(request.extract, request.month) };
  }

  /** Ends a run with its outcome, only while the caller still holds the month (its execution, RUNNING). */
  private finish(
    extractId: string,
    month: string,
    executionArn: string,
    status: 'SUCCEEDED' | 'FAILED',
    field: 'stats' | 'lastError',
    value: unknown,
    event: HistoryEvent,
    remove = '',
  ): Promise<boolean> {
    return this.written(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: monthKey(extractId, month) },
        UpdateExpression:
          `SET #status = :status, #${field} = :value, #finishedAt = :now, #updatedAt = :now, ` +
          `#history = list_append(if_not_exists(#history, :empty), :event)${remove}`,
        ConditionExpression: '#executionArn = :executionArn AND #status = :running',
        ExpressionAttributeNames: names('status', field, 'finishedAt', 'updatedAt', 'history', 'executionArn', ...(remove ? ['publishing', 'publishingRunId'] : [])),
        ExpressionAttributeValues: {
          ':status': status,
          ':running': 'RUNNING',
          ':value': value,
          ':now': event.at,
          ':event': [event],
          ':empty': [],
          ':executionArn': executionArn,
        },
      }),
    );
  }

  async openJournal(extractId: string, month: string): Promise<PublishJournal | undefined> {
    // Settling a journal writes the extract's record: a journal left open before the deploy must be on it.
    await this.adoptLegacyMonth(extractId, month);
    return (await this.get(extractId, month))?.publishing;
  }

  async beginPublish(extractId: string, month: string, journal: PublishJournal, now: Date): Promise<void> {
    const begun = await this.written(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: monthKey(extractId, month) },
        UpdateExpression: 'SET #publishing = :journal, #publishingRunId = :runId, #updatedAt = :now',
        ConditionExpression: '#executionArn = :executionArn AND #status = :running AND attribute_not_exists(#publishing)',
        ExpressionAttributeNames: names('publishing', 'publishingRunId', 'updatedAt', 'executionArn', 'status'),
        ExpressionAttributeValues: {
          ':journal': encodeJournal(journal),
          ':runId': journal.runId,
          ':now': now.toISOString(),
          ':executionArn': journal.executionArn,
          ':running': 'RUNNING',
        },
      }),
    );
    if (begun) return;
    const current = await this.get(extractId, month);
    throw new LeaseLostError(
      `${extractId} ${month} cannot be published by execution ${journal.executionArn}: ` +
        (current?.publishing
          ? `run ${current.publishing.runId} has an unfinished publish of it.`
          : current
            ? `the ledger shows ${current.status} by ${current.executionArn} (its lease ran to ${current.leaseExpiresAt}).`
            : 'the ledger has no record of it.'),
    );
  }

  async endPublish(extractId: string, month: string, runId: string, now: Date): Promise<void> {
    // Refused (and so nothing to do) when the open journal is another run's, or there is none.
    await this.written(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: monthKey(extractId, month) },
        UpdateExpression: 'SET #updatedAt = :now REMOVE #publishing, #publishingRunId',
        ConditionExpression: '#publishingRunId = :runId',
        ExpressionAttributeNames: names('updatedAt', 'publishing', 'publishingRunId'),
        ExpressionAttributeValues: { ':now': now.toISOString(), ':runId': runId },
      }),
    );
  }

  async claimFailureNotice(executionArn: string, now: Date): Promise<boolean> {
    return claimOnce(this.client, this.tableName, noticeKey(executionArn), { executionArn }, now);
  }

  async releaseFailureNotice(executionArn: string): Promise<void> {
    await releaseClaim(this.client, this.tableName, noticeKey(executionArn));
  }

  private written(command: UpdateCommand | PutCommand): Promise<boolean> {
    return written(this.client, command);
  }
}

/** Sends a conditional write; false when DynamoDB refused it because its condition did not hold. */
async function written(client: DynamoDBDocumentClient, command: UpdateCommand | PutCommand): Promise<boolean> {
  try {
    await client.send(command as UpdateCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/**
 * A claim that something is being done once (an email sent): an item created only if absent, with
 * `claimedAt` and a TTL of 90 days. False when another caller already holds it.
 */
export function claimOnce(client: DynamoDBDocumentClient, tableName: string, pk: string, fields: Record<string, unknown>, now: Date): Promise<boolean> {
  return written(
    client,
    new PutCommand({
      TableName: tableName,
      Item: { pk, ...fields, claimedAt: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + CLAIM_RETENTION_SECONDS },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

/** Undoes a claim whose work could not be done, so the next caller may do it. */
export async function releaseClaim(client: DynamoDBDocumentClient, tableName: string, pk: string): Promise<void> {
  await client.send(new DeleteCommand({ TableName: tableName, Key: { pk } }));
}

/** The pk of an extract month's record. */
export function monthKey(extractId: string, month: string): string {
  return `${extractKeyPrefix(extractId)}${month}`;
}

/** The pk of a record written before extracts were templated (all the loan extract's). */
export const LEGACY_MONTH_PREFIX = 'month#';

export function legacyMonthKey(month: string): string {
  return `${LEGACY_MONTH_PREFIX}${month}`;
}

/**
 * Copies a record from before extracts were templated (`month#2024-03`) to its extract key, with its
 * `extract` set, every other attribute as it is; only if the extract key has no record (so a record
 * written since is never overwritten). An UpdateItem, not a PutItem: the Lambdas that copy already
 * hold UpdateItem on `extract#` items and no more. The one copy the migration script and the ledger use.
 */
export async function copyLegacyMonth(
  client: DynamoDBDocumentClient,
  tableName: string,
  legacy: Record<string, unknown>,
  extractId: string,
): Promise<'copied' | 'already-present'> {
  const month = String(legacy.pk).slice(LEGACY_MONTH_PREFIX.length);
  const fields = Object.entries({ ...legacy, extract: extractId }).filter(([name]) => name !== 'pk');
  const copied = await written(
    client,
    new UpdateCommand({
      TableName: tableName,
      Key: { pk: monthKey(extractId, month) },
      UpdateExpression: `SET ${fields.map((_, i) => `#a${i} = :a${i}`).join(', ')}`,
      ConditionExpression: 'attribute_not_exists(pk)',
      ExpressionAttributeNames: Object.fromEntries(fields.map(([name], i) => [`#a${i}`, name])),
      ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], i) => [`:a${i}`, value])),
    }),
  );
  return copied ? 'copied' : 'already-present';
}

/** Every month record of one extract starts with this (and of all extracts with `extract#`). */
export function extractKeyPrefix(extractId: string): string {
  return `extract#${extractId}#month#`;
}

export function noticeKey(executionArn: string): string {
  return `notice#${executionArn}`;
}

function names(...attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((name) => [`#${name}`, name]));
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * The item a refused write returned (ReturnValuesOnConditionCheckFailure). The document client
 * leaves it in DynamoDB's attribute-value form, so it is unmarshalled here when it is.
 */
function refusedItem(error: unknown): MonthRecord | undefined {
  const item = (error as { Item?: Record<string, unknown> }).Item;
  if (!item || typeof item !== 'object') return undefined;
  const plain = typeof item.pk === 'object' ? unmarshall(item as Record<string, AttributeValue>) : item;
  return toMonthRecord(plain);
}

export function toMonthRecord(item: Record<string, unknown>): MonthRecord {
  const fields: Record<string, unknown> = { history: [], ...item };
  delete fields.pk;
  delete fields.publishingRunId;
  if (fields.publishing instanceof Uint8Array) fields.publishing = decodeJournal(fields.publishing);
  return fields as unknown as MonthRecord;
}

/** A month of 1,000 banks journals ~2,000 keys with their version ids: gzipped it stays far below 400 KB. */
function encodeJournal(journal: PublishJournal): Uint8Array {
  return gzipSync(JSON.stringify(journal));
}

function decodeJournal(bytes: Uint8Array): PublishJournal {
  return JSON.parse(gunzipSync(bytes).toString('utf8')) as PublishJournal;
}
