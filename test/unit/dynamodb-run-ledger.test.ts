import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { holdVerdict, LeaseLostError, type MonthRecord, type RunStats, type TakeRequest } from '../../functions/core/run-ledger';
import { evaluateCondition, FakeLedgerTable } from './dynamodb-run-ledger.fake';

const ddb = mockClient(DynamoDBDocumentClient);
const ledger = new DynamoDbRunLedger(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'af-south-1' })), 'run-ledger');

const arn = (name: string) => `arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:${name}`;
const A = arn('exec-a');
const B = arn('exec-b');
const T0 = new Date('2024-04-01T00:00:00Z');
const minutes = (m: number) => new Date(T0.getTime() + m * 60_000);

function takeBy(executionArn: string, fields: Partial<TakeRequest> = {}): TakeRequest {
  return {
    month: '2024-03',
    executionArn,
    runId: executionArn.split(':').pop()!,
    force: false,
    now: T0,
    leaseExpiresAt: minutes(360),
    ...fields,
  };
}

const STATS: RunStats = {
  manifestKey: 'extracts/_manifests/year=2024/month=03/manifest.json',
  fileCount: 1,
  rows: 3,
  bytes: 210,
  files: [{ key: 'extracts/bank_name=A/year=2024/month=03/A_20240331.csv', rows: 3, bytes: 210, sha256: 'ab', controlTotals: { loan_count: '4' } }],
};

let table: FakeLedgerTable;
beforeEach(() => {
  ddb.reset();
  table = new FakeLedgerTable(ddb);
});

const monthItem = () => table.items.get('month#2024-03') as unknown as MonthRecord & { pk: string };

describe('taking a month', () => {
  it('the first taker gets attempt 1, a lease, and a history line', async () => {
    await expect(ledger.take(takeBy(A))).resolves.toEqual({ kind: 'taken', attempt: 1 });
    expect(monthItem()).toMatchObject({
      pk: 'month#2024-03',
      status: 'RUNNING',
      executionArn: A,
      runId: 'exec-a',
      attempt: 1,
      leaseExpiresAt: '2024-04-01T06:00:00.000Z',
      history: [{ event: 'started', executionArn: A, attempt: 1, at: '2024-04-01T00:00:00.000Z', force: false }],
    });
  });

  it('two executions racing for an empty month: the second loses on the condition and is told the holder', async () => {
    const [first, second] = await Promise.all([ledger.take(takeBy(A)), ledger.take(takeBy(B))]);
    expect(first).toEqual({ kind: 'taken', attempt: 1 });
    expect(second).toMatchObject({ kind: 'busy', record: { executionArn: A, status: 'RUNNING' } });
    // Both wrote; DynamoDB refused the second (attribute_not_exists) and it re-read the holder.
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 2);
    expect(monthItem()).toMatchObject({ executionArn: A, attempt: 1 });
    expect(monthItem().history).toHaveLength(1);
  });

  it('a live holder keeps the month; the newcomer writes nothing', async () => {
    await ledger.take(takeBy(A));
    ddb.resetHistory();
    const result = await ledger.take(takeBy(B, { now: minutes(30), force: true }));
    expect(result).toMatchObject({ kind: 'busy', record: { executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' } });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('a holder whose lease expired (timed out, aborted) is taken over, as attempt 2', async () => {
    await ledger.take(takeBy(A));
    const result = await ledger.take(takeBy(B, { now: minutes(361), leaseExpiresAt: minutes(721) }));
    expect(result).toEqual({ kind: 'taken', attempt: 2 });
    expect(monthItem()).toMatchObject({ status: 'RUNNING', executionArn: B, attempt: 2, leaseExpiresAt: '2024-04-01T12:01:00.000Z' });
    expect(monthItem().history.map((line) => [line.event, line.executionArn, line.attempt])).toEqual([
      ['started', A, 1],
      ['started', B, 2],
    ]);
  });

  it('a SUCCEEDED month is skipped without force and re-run with it', async () => {
    await ledger.take(takeBy(A));
    await ledger.complete({ month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(50) });

    ddb.resetHistory();
    await expect(ledger.take(takeBy(B, { now: minutes(600) }))).resolves.toMatchObject({
      kind: 'skipped',
      record: { status: 'SUCCEEDED', executionArn: A, finishedAt: '2024-04-01T00:50:00.000Z' },
    });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);

    await expect(ledger.take(takeBy(B, { now: minutes(600), force: true }))).resolves.toEqual({ kind: 'taken', attempt: 2 });
    expect(monthItem()).toMatchObject({ status: 'RUNNING', executionArn: B, force: true, stats: STATS });
  });

  it('a FAILED month is taken again without force', async () => {
    await ledger.take(takeBy(A));
    await ledger.fail({ month: '2024-03', executionArn: A, runId: 'exec-a', failure: { failedStep: 'StartCrawler', error: 'E', cause: 'c' }, now: minutes(5) });
    await expect(ledger.take(takeBy(B, { now: minutes(6) }))).resolves.toEqual({ kind: 'taken', attempt: 2 });
  });

  it('a retried ResolveRun of the holder gets its month back without a second attempt', async () => {
    await ledger.take(takeBy(A));
    await expect(ledger.take(takeBy(A, { now: minutes(1) }))).resolves.toEqual({ kind: 'taken', attempt: 1 });
    expect(monthItem().history).toHaveLength(1);
  });

  it('gives up with a clear error when the record keeps changing under it', async () => {
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
    await expect(ledger.take(takeBy(A))).rejects.toThrow(/record changed 3 times.*Start this execution again/);
  });

  it('other DynamoDB errors surface unchanged (the state machine retries throttling)', async () => {
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(ledger.take(takeBy(A))).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });
});

describe('the condition DynamoDB checks agrees with the rules', () => {
  const base = { month: '2024-03', runId: 'x', force: false, attempt: 4, startedAt: 'x', updatedAt: 'x', history: [] };
  const records: (MonthRecord | undefined)[] = [
    undefined,
    { ...base, status: 'FAILED', executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' },
    { ...base, status: 'SUCCEEDED', executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' },
    { ...base, status: 'RUNNING', executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' },
    { ...base, status: 'RUNNING', executionArn: A, leaseExpiresAt: '2024-03-31T23:59:59.000Z' },
  ];

  it.each(records.flatMap((current) => [false, true].map((force) => [current?.status ?? 'none', current?.leaseExpiresAt ?? '', force, current] as const)))(
    'record %s (lease %s), force %s',
    async (_status, _lease, force, current) => {
      // Let the ledger read `current`, then capture the conditional write it sends.
      ddb.reset();
      ddb.on(GetCommand).resolves({ Item: current ? { pk: 'month#2024-03', ...current } : undefined });
      ddb.on(UpdateCommand).resolves({});
      const request = takeBy(B, { force });
      await ledger.take(request);
      const writes = ddb.commandCalls(UpdateCommand);
      const takeable = holdVerdict(current, request) === 'takeable';
      expect(writes).toHaveLength(takeable ? 1 : 0);
      if (takeable) {
        const input = writes[0]!.args[0].input;
        const stored = current ? { pk: 'month#2024-03', ...current } : undefined;
        expect(evaluateCondition(input.ConditionExpression!, stored, input.ExpressionAttributeNames, input.ExpressionAttributeValues)).toBe(true);
      }
      // And the condition refuses every state the rules do not allow, whatever was read.
      for (const other of records) {
        if (!takeable) break;
        const input = writes[0]!.args[0].input;
        const stored = other ? { pk: 'month#2024-03', ...other } : undefined;
        const allowed = holdVerdict(other, request) === 'takeable' && (other?.attempt ?? 0) === (current?.attempt ?? 0) && !!other === !!current;
        expect(evaluateCondition(input.ConditionExpression!, stored, input.ExpressionAttributeNames, input.ExpressionAttributeValues)).toBe(allowed);
      }
    },
  );
});

describe('completing and failing a run', () => {
  it('the holder completes: SUCCEEDED with the publish stats and a history line', async () => {
    await ledger.take(takeBy(A));
    await ledger.complete({ month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(42) });
    expect(monthItem()).toMatchObject({ status: 'SUCCEEDED', stats: STATS, finishedAt: '2024-04-01T00:42:00.000Z' });
    expect(monthItem().history.at(-1)).toMatchObject({ event: 'succeeded', executionArn: A, manifestKey: STATS.manifestKey, fileCount: 1 });
  });

  it('a completion retried after it was written is accepted', async () => {
    await ledger.take(takeBy(A));
    await ledger.complete({ month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(42) });
    await expect(ledger.complete({ month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(43) })).resolves.toBeUndefined();
  });

  it('an execution whose month was taken over cannot complete it, and is told who holds it', async () => {
    await ledger.take(takeBy(A));
    await ledger.take(takeBy(B, { now: minutes(361), leaseExpiresAt: minutes(721) }));
    const completing = ledger.complete({ month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(362) });
    await expect(completing).rejects.toThrow(LeaseLostError);
    await expect(completing).rejects.toThrow(`the ledger shows RUNNING by ${B}`);
    expect(monthItem()).toMatchObject({ status: 'RUNNING', executionArn: B });
  });

  it('the holder fails: FAILED with the last error, step and cause', async () => {
    await ledger.take(takeBy(A));
    const failure = { failedStep: 'GetExtractJobState', error: 'ExtractJobFailed', cause: 'Glue job ended FAILED: boom' };
    await expect(ledger.fail({ month: '2024-03', executionArn: A, runId: 'exec-a', failure, now: minutes(9) })).resolves.toEqual({ kind: 'marked' });
    expect(monthItem()).toMatchObject({
      status: 'FAILED',
      lastError: { ...failure, executionArn: A, at: '2024-04-01T00:09:00.000Z' },
    });
    expect(monthItem().history.at(-1)).toMatchObject({ event: 'failed', failedStep: 'GetExtractJobState', error: 'ExtractJobFailed' });
  });

  it("a non-holder's failure leaves the holder's record untouched", async () => {
    await ledger.take(takeBy(A));
    const before = structuredClone(monthItem());
    const result = await ledger.fail({
      month: '2024-03',
      executionArn: B,
      runId: 'exec-b',
      failure: { failedStep: 'ResolveRun', error: 'E', cause: 'c' },
      now: minutes(2),
    });
    expect(result).toMatchObject({ kind: 'not-holder', record: { executionArn: A, status: 'RUNNING' } });
    expect(monthItem()).toEqual(before);
  });

  it('long causes are clipped in the record', async () => {
    await ledger.take(takeBy(A));
    await ledger.fail({ month: '2024-03', executionArn: A, runId: 'exec-a', failure: { failedStep: 'S', error: 'E', cause: 'y'.repeat(10_000) }, now: minutes(2) });
    expect(monthItem().lastError!.cause).toHaveLength(4000);
    expect(monthItem().history.at(-1)!.cause).toHaveLength(1000);
  });
});

describe('failure notices', () => {
  it('an execution can claim its failure email once; a released claim can be claimed again', async () => {
    await expect(ledger.claimFailureNotice(A, T0)).resolves.toBe(true);
    await expect(ledger.claimFailureNotice(A, T0)).resolves.toBe(false);
    await expect(ledger.claimFailureNotice(B, T0)).resolves.toBe(true);
    expect(table.items.get(`notice#${A}`)).toMatchObject({ executionArn: A, expiresAt: T0.getTime() / 1000 + 90 * 24 * 3600 });
    await ledger.releaseFailureNotice(A);
    await expect(ledger.claimFailureNotice(A, T0)).resolves.toBe(true);
  });
});
