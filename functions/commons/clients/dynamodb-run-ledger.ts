/**
 * The run ledger in DynamoDB. Table: partition key `pk` (string), TTL attribute `expiresAt`.
 *
 *   pk = month#2024-03          the month's record (MonthRecord), history in its `history` list, the
 *                               open publish journal in `publishing` (gzipped JSON: its keys repeat, and
 *                               an item holds 400 KB; its run id in `publishingRunId`, so conditions
 *                               compare a top-level attribute)
 *   pk = notice#<executionArn>  "this execution's failure was emailed" (expires after 90 days)
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
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PublishJournal } from '../../core/publish-journal';

/** Re-reads allowed when the record changes between our read and our write. */
const TAKE_ATTEMPTS = 3;
const NOTICE_RETENTION_SECONDS = 90 * 24 * 3600;
const HISTORY_CAUSE_CHARS = 1000;
const LAST_ERROR_CAUSE_CHARS = 4000;

export class DynamoDbRunLedger implements RunLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(month: string): Promise<MonthRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: monthKey(month) }, ConsistentRead: true }),
    );
    return Item ? toMonthRecord(Item) : undefined;
  }

  async take(request: TakeRequest): Promise<TakeResult> {
    for (let round = 0; round < TAKE_ATTEMPTS; round++) {
      const current = await this.get(request.month);
      switch (holdVerdict(current, request)) {
        case 'busy':
          return { kind: 'busy', record: current! };
        case 'skipped':
          return { kind: 'skipped', record: current! };
        case 'held-by-caller':
          return { kind: 'taken', attempt: current!.attempt };
        case 'takeable':
          if (await this.writeTake(request, current)) return { kind: 'taken', attempt: (current?.attempt ?? 0) + 1 };
      }
    }
    throw new Error(
      `Could not take month ${request.month}: its ledger record changed ${TAKE_ATTEMPTS} times while reading it; ` +
        'other executions are racing for it. Start this execution again.',
    );
  }

  /** The conditional write behind `take`; false when someone else changed the record first. */
  private async writeTake(request: TakeRequest, current: MonthRecord | undefined): Promise<boolean> {
    const now = request.now.toISOString();
    const attempt = (current?.attempt ?? 0) + 1;
    const started: HistoryEvent = {
      event: 'started',
      at: now,
      executionArn: request.executionArn,
      runId: request.runId,
      attempt,
      force: request.force,
    };
    // The rules of core/run-ledger.ts, checked by DynamoDB at write time; the attempt guard makes
    // the attempt number exact when two takers read the same record.
    const takeable = ['#status = :failed', '(#status = :running AND #leaseExpiresAt < :now)'];
    if (request.force) takeable.push('#status = :succeeded');
    const condition = current
      ? `#attempt = :previousAttempt AND (${takeable.join(' OR ')})`
      : 'attribute_not_exists(pk)';
    const values: Record<string, unknown> = {
      ':running': 'RUNNING',
      ':month': request.month,
      ':executionArn': request.executionArn,
      ':runId': request.runId,
      ':force': request.force,
      ':attempt': attempt,
      ':leaseExpiresAt': request.leaseExpiresAt.toISOString(),
      ':now': now,
      ':started': [started],
      ':empty': [],
    };
    if (current) {
      values[':previousAttempt'] = current.attempt;
      values[':failed'] = 'FAILED';
      if (request.force) values[':succeeded'] = 'SUCCEEDED';
    }
    return this.written(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: monthKey(request.month) },
        UpdateExpression:
          'SET #status = :running, #month = :month, #executionArn = :executionArn, #runId = :runId, ' +
          '#force = :force, #attempt = :attempt, #leaseExpiresAt = :leaseExpiresAt, #startedAt = :now, ' +
          '#updatedAt = :now, #history = list_append(if_not_exists(#history, :empty), :started) REMOVE #finishedAt',
        ConditionExpression: condition,
        ExpressionAttributeNames: names(
          'status',
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
      }),
    );
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
    if (await this.finish(request.month, request.executionArn, 'SUCCEEDED', 'stats', request.stats, succeeded, ' REMOVE #publishing, #publishingRunId')) return;
    const current = await this.get(request.month);
    // A retried CompleteRun whose first call did write: already done.
    if (current?.status === 'SUCCEEDED' && current.executionArn === request.executionArn) return;
    throw new LeaseLostError(
      `Month ${request.month} is no longer held by this execution, so it was not marked SUCCEEDED: ` +
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
    if (await this.finish(request.month, request.executionArn, 'FAILED', 'lastError', lastError, failed)) return { kind: 'marked' };
    return { kind: 'not-holder', record: await this.get(request.month) };
  }

  /** Ends a run with its outcome, only while the caller still holds the month (its execution, RUNNING). */
  private finish(
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
        Key: { pk: monthKey(month) },
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

  async openJournal(month: string): Promise<PublishJournal | undefined> {
    return (await this.get(month))?.publishing;
  }

  async beginPublish(month: string, journal: PublishJournal, now: Date): Promise<void> {
    const begun = await this.written(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: monthKey(month) },
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
    const current = await this.get(month);
    throw new LeaseLostError(
      `Month ${month} cannot be published by execution ${journal.executionArn}: ` +
        (current?.publishing
          ? `run ${current.publishing.runId} has an unfinished publish of it.`
          : current
            ? `the ledger shows ${current.status} by ${current.executionArn} (its lease ran to ${current.leaseExpiresAt}).`
            : 'the ledger has no record of it.'),
    );
  }

  async endPublish(month: string, runId: string, now: Date): Promise<void> {
    // Refused (and so nothing to do) when the open journal is another run's, or there is none.
    await this.written(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: monthKey(month) },
        UpdateExpression: 'SET #updatedAt = :now REMOVE #publishing, #publishingRunId',
        ConditionExpression: '#publishingRunId = :runId',
        ExpressionAttributeNames: names('updatedAt', 'publishing', 'publishingRunId'),
        ExpressionAttributeValues: { ':now': now.toISOString(), ':runId': runId },
      }),
    );
  }

  async claimFailureNotice(executionArn: string, now: Date): Promise<boolean> {
    return this.written(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: noticeKey(executionArn),
          executionArn,
          claimedAt: now.toISOString(),
          expiresAt: Math.floor(now.getTime() / 1000) + NOTICE_RETENTION_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async releaseFailureNotice(executionArn: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: noticeKey(executionArn) } }));
  }

  /** Sends a conditional write; false when DynamoDB refused it because its condition did not hold. */
  private async written(command: UpdateCommand | PutCommand): Promise<boolean> {
    try {
      await this.client.send(command as UpdateCommand);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

export function monthKey(month: string): string {
  return `month#${month}`;
}

export function noticeKey(executionArn: string): string {
  return `notice#${executionArn}`;
}

function names(...attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((name) => [`#${name}`, name]));
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
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
