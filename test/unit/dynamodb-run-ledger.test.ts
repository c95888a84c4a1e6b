/**
 * The ledger's DynamoDB implementation against dynalite (test/support/ledger-table.ts): the
 * conditional writes are checked by a real implementation of DynamoDB's expressions.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { holdVerdict, LeaseLostError, type MonthRecord, type RunStats, type TakeRequest } from '../../functions/core/run-ledger';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';

const table = useLedgerTable();
const ledgerOf = () => table.ledger;

const arn = (name: string) => `arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:${name}`;
const A = arn('exec-a');
const B = arn('exec-b');
const T0 = new Date('2024-04-01T00:00:00Z');
const minutes = (m: number) => new Date(T0.getTime() + m * 60_000);

const LOAN = 'loan-moving-average';
const PK = `extract#${LOAN}#month#2024-03`;

function takeBy(executionArn: string, fields: Partial<TakeRequest> = {}): TakeRequest {
  return {
    extract: LOAN,
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

const monthItem = async () => (await table.item(PK)) as unknown as MonthRecord & { pk: string };

/** A ledger whose DynamoDB answers are scripted, for what dynalite cannot show (throttling, ALL_OLD). */
function scriptedLedger() {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'af-south-1' }));
  return { ledger: new DynamoDbRunLedger(client, LEDGER_TABLE), ddb: mockClient(client) };
}

const conditionFailed = (item?: Record<string, unknown>) =>
  Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }), item ? { Item: marshall(item) } : {});

describe('taking a month', () => {
  it('the first taker gets attempt 1, a lease, and a history line', async () => {
    await expect(ledgerOf().take(takeBy(A))).resolves.toEqual({ kind: 'taken', attempt: 1 });
    expect(await monthItem()).toMatchObject({
      pk: PK,
      status: 'RUNNING',
      executionArn: A,
      runId: 'exec-a',
      attempt: 1,
      leaseExpiresAt: '2024-04-01T06:00:00.000Z',
      history: [{ event: 'started', executionArn: A, at: '2024-04-01T00:00:00.000Z', force: false }],
    });
  });

  it('executions racing for an empty month: exactly one takes it, the others are told the holder', async () => {
    const takers = ['a', 'b', 'c', 'd', 'e'].map((name) => arn(`exec-${name}`));
    const results = await Promise.all(takers.map((taker) => ledgerOf().take(takeBy(taker))));
    const taken = results.filter((result) => result.kind === 'taken');
    expect(taken).toEqual([{ kind: 'taken', attempt: 1 }]);
    const holder = takers[results.findIndex((result) => result.kind === 'taken')];
    for (const result of results.filter((r) => r.kind !== 'taken')) expect(result).toMatchObject({ kind: 'busy', record: { executionArn: holder } });
    expect(await monthItem()).toMatchObject({ executionArn: holder, attempt: 1 });
    expect((await monthItem()).history).toHaveLength(1);
  });

  it('a live holder keeps the month; the newcomer changes nothing', async () => {
    await ledgerOf().take(takeBy(A));
    const before = await monthItem();
    const result = await ledgerOf().take(takeBy(B, { now: minutes(30), force: true }));
    expect(result).toMatchObject({ kind: 'busy', record: { executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' } });
    expect(await monthItem()).toEqual(before);
  });

  it('a holder whose lease expired (timed out, aborted) is taken over, as attempt 2', async () => {
    await ledgerOf().take(takeBy(A));
    const result = await ledgerOf().take(takeBy(B, { now: minutes(361), leaseExpiresAt: minutes(721) }));
    expect(result).toEqual({ kind: 'taken', attempt: 2 });
    expect(await monthItem()).toMatchObject({ status: 'RUNNING', executionArn: B, attempt: 2, leaseExpiresAt: '2024-04-01T12:01:00.000Z' });
    expect((await monthItem()).history.map((line) => [line.event, line.executionArn])).toEqual([
      ['started', A],
      ['started', B],
    ]);
  });

  it('a SUCCEEDED month is skipped without force and re-run with it', async () => {
    await ledgerOf().take(takeBy(A));
    await ledgerOf().complete({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(50) });
    const succeeded = await monthItem();

    await expect(ledgerOf().take(takeBy(B, { now: minutes(600) }))).resolves.toMatchObject({
      kind: 'skipped',
      record: { status: 'SUCCEEDED', executionArn: A, finishedAt: '2024-04-01T00:50:00.000Z' },
    });
    expect(await monthItem()).toEqual(succeeded);

    await expect(ledgerOf().take(takeBy(B, { now: minutes(600), force: true }))).resolves.toEqual({ kind: 'taken', attempt: 2 });
    expect(await monthItem()).toMatchObject({ status: 'RUNNING', executionArn: B, force: true, stats: STATS });
    expect(await monthItem()).not.toHaveProperty('finishedAt');
  });

  it('a FAILED month is taken again without force', async () => {
    await ledgerOf().take(takeBy(A));
    await ledgerOf().fail({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', failure: { failedStep: 'StartCrawler', error: 'E', cause: 'c' }, now: minutes(5) });
    await expect(ledgerOf().take(takeBy(B, { now: minutes(6) }))).resolves.toEqual({ kind: 'taken', attempt: 2 });
  });

  it('a retried ResolveRun of the holder gets its month back without a second attempt', async () => {
    await ledgerOf().take(takeBy(A));
    await expect(ledgerOf().take(takeBy(A, { now: minutes(1) }))).resolves.toEqual({ kind: 'taken', attempt: 1 });
    expect((await monthItem()).history).toHaveLength(1);
  });

  it('a refusal is explained from the item DynamoDB returns with it (ALL_OLD), without reading again', async () => {
    const { ledger, ddb } = scriptedLedger();
    const holder = { pk: PK, extract: LOAN, month: '2024-03', status: 'RUNNING', executionArn: A, runId: 'exec-a', attempt: 3, leaseExpiresAt: '2024-04-01T06:00:00.000Z', history: [] };
    ddb.on(GetCommand).resolves({ Item: holder });
    ddb.on(UpdateCommand).rejects(conditionFailed(holder));
    await expect(ledger.take(takeBy(B))).resolves.toMatchObject({ kind: 'busy', record: { executionArn: A, attempt: 3 } });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
    // The one read is before the take: whether the loan extract's month still has only its month# record.
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it('gives up with a clear error when the refused record keeps changing before it can be read', async () => {
    const { ledger, ddb } = scriptedLedger();
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { pk: PK, month: '2024-03', status: 'FAILED', executionArn: A, attempt: 1, history: [] } });
    await expect(ledger.take(takeBy(B))).rejects.toThrow(/record changed 3 times.*Start this execution again/);
  });

  it('other DynamoDB errors surface unchanged (the state machine retries throttling)', async () => {
    const { ledger, ddb } = scriptedLedger();
    ddb.on(GetCommand).resolves({});
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(ledger.take(takeBy(A))).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });
});

describe('the condition DynamoDB checks agrees with the rules', () => {
  const base = { extract: LOAN, month: '2024-03', runId: 'x', force: false, attempt: 4, startedAt: 'x', updatedAt: 'x', history: [] };
  const records: (MonthRecord | undefined)[] = [
    undefined,
    { ...base, status: 'FAILED', executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' },
    { ...base, status: 'SUCCEEDED', executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' },
    { ...base, status: 'RUNNING', executionArn: A, leaseExpiresAt: '2024-04-01T06:00:00.000Z' },
    { ...base, status: 'RUNNING', executionArn: A, leaseExpiresAt: '2024-03-31T23:59:59.000Z' },
    { ...base, status: 'RUNNING', executionArn: B, leaseExpiresAt: '2024-04-01T06:00:00.000Z' },
    { ...base, status: 'RUNNING', executionArn: B, leaseExpiresAt: '2024-03-31T23:59:59.000Z' },
  ];
  const cases = records.flatMap((current) =>
    [false, true].map((force) => [current?.status ?? 'none', current?.executionArn.split(':').pop() ?? '', current?.leaseExpiresAt ?? '', force, current] as const),
  );

  it.each(cases)('record %s by %s (lease %s), force %s: taken exactly when holdVerdict says takeable', async (_status, _holder, _lease, force, current) => {
    if (current) await table.put({ pk: PK, ...current });
    const request = takeBy(B, { force });
    const result = await ledgerOf().take(request);
    const after = await monthItem();
    switch (holdVerdict(current, request)) {
      case 'takeable':
        expect(result).toEqual({ kind: 'taken', attempt: (current?.attempt ?? 0) + 1 });
        expect(after).toMatchObject({ status: 'RUNNING', executionArn: B, attempt: (current?.attempt ?? 0) + 1 });
        break;
      case 'held-by-caller':
        expect(result).toEqual({ kind: 'taken', attempt: current!.attempt });
        expect(after).toEqual({ pk: PK, ...current });
        break;
      case 'busy':
      case 'skipped':
        expect(result).toMatchObject({ kind: holdVerdict(current, request), record: current });
        expect(after).toEqual({ pk: PK, ...current });
    }
  });
});

describe('completing and failing a run', () => {
  it('the holder completes: SUCCEEDED with the publish stats and a history line', async () => {
    await ledgerOf().take(takeBy(A));
    await ledgerOf().complete({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(42) });
    expect(await monthItem()).toMatchObject({ status: 'SUCCEEDED', stats: STATS, finishedAt: '2024-04-01T00:42:00.000Z' });
    expect((await monthItem()).history.at(-1)).toMatchObject({ event: 'succeeded', executionArn: A, manifestKey: STATS.manifestKey, fileCount: 1 });
  });

  it('a completion retried after it was written is accepted', async () => {
    await ledgerOf().take(takeBy(A));
    await ledgerOf().complete({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(42) });
    await expect(ledgerOf().complete({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(43) })).resolves.toBeUndefined();
  });

  it('an execution whose month was taken over cannot complete it, and is told who holds it', async () => {
    await ledgerOf().take(takeBy(A));
    await ledgerOf().take(takeBy(B, { now: minutes(361), leaseExpiresAt: minutes(721) }));
    const completing = ledgerOf().complete({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', stats: STATS, now: minutes(362) });
    await expect(completing).rejects.toThrow(LeaseLostError);
    await expect(completing).rejects.toThrow(`the ledger shows RUNNING by ${B}`);
    expect(await monthItem()).toMatchObject({ status: 'RUNNING', executionArn: B });
  });

  it('the holder fails: FAILED with the last error, step and cause', async () => {
    await ledgerOf().take(takeBy(A));
    const failure = { failedStep: 'GetExtractJobState', error: 'ExtractJobFailed', cause: 'Glue job ended FAILED: boom' };
    await expect(ledgerOf().fail({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', failure, now: minutes(9) })).resolves.toEqual({ kind: 'marked' });
    expect(await monthItem()).toMatchObject({
      status: 'FAILED',
      lastError: { ...failure, executionArn: A, at: '2024-04-01T00:09:00.000Z' },
    });
    expect((await monthItem()).history.at(-1)).toMatchObject({ event: 'failed', failedStep: 'GetExtractJobState', error: 'ExtractJobFailed' });
  });

  it("a non-holder's failure leaves the holder's record untouched", async () => {
    await ledgerOf().take(takeBy(A));
    const before = await monthItem();
    const result = await ledgerOf().fail({
      extract: LOAN,
      month: '2024-03',
      executionArn: B,
      runId: 'exec-b',
      failure: { failedStep: 'ResolveRun', error: 'E', cause: 'c' },
      now: minutes(2),
    });
    expect(result).toMatchObject({ kind: 'not-holder', record: { executionArn: A, status: 'RUNNING' } });
    expect(await monthItem()).toEqual(before);
  });

  it('long causes are clipped in the record', async () => {
    await ledgerOf().take(takeBy(A));
    await ledgerOf().fail({ extract: LOAN, month: '2024-03', executionArn: A, runId: 'exec-a', failure: { failedStep: 'S', error: 'E', cause: 'y'.repeat(10_000) }, now: minutes(2) });
    expect((await monthItem()).lastError!.cause).toHaveLength(4000);
    expect((await monthItem()).history.at(-1)!.cause).toHaveLength(1000);
  });
});

describe('extracts keep their own months', () => {
  it("one extract's month is taken, run and failed without touching another extract's same month", async () => {
    await ledgerOf().take(takeBy(A));
    await expect(ledgerOf().take(takeBy(B, { extract: 'client-activity' }))).resolves.toEqual({ kind: 'taken', attempt: 1 });
    expect(await table.item('extract#client-activity#month#2024-03')).toMatchObject({ extract: 'client-activity', month: '2024-03', executionArn: B });
    await ledgerOf().fail({ extract: 'client-activity', month: '2024-03', executionArn: B, runId: 'exec-b', failure: { failedStep: 'S', error: 'E', cause: 'c' }, now: minutes(2) });
    expect(await monthItem()).toMatchObject({ extract: LOAN, status: 'RUNNING', executionArn: A });
    await expect(ledgerOf().get('client-activity', '2024-03')).resolves.toMatchObject({ extract: 'client-activity', status: 'FAILED' });
    await expect(ledgerOf().get(LOAN, '2024-03')).resolves.toMatchObject({ extract: LOAN, status: 'RUNNING' });
  });
});

describe('failure notices', () => {
  it('an execution can claim its failure email once; a released claim can be claimed again', async () => {
    await expect(ledgerOf().claimFailureNotice(A, T0)).resolves.toBe(true);
    await expect(ledgerOf().claimFailureNotice(A, T0)).resolves.toBe(false);
    await expect(ledgerOf().claimFailureNotice(B, T0)).resolves.toBe(true);
    expect(await table.item(`notice#${A}`)).toMatchObject({ executionArn: A, expiresAt: T0.getTime() / 1000 + 90 * 24 * 3600 });
    await ledgerOf().releaseFailureNotice(A);
    await expect(ledgerOf().claimFailureNotice(A, T0)).resolves.toBe(true);
  });
});
