import 'aws-sdk-client-mock-jest';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { resolveRun, type ResolveRunRequest, type ResolveRunResult } from '../../functions/core/resolve-run';
import type { MonthRecord } from '../../functions/core/run-ledger';
import { MemoryStore } from '../support/memory-object-store';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

const table = useLedgerTable();
let ledger: DynamoDbRunLedger;
beforeAll(() => {
  ledger = table.ledger;
});
beforeEach(() => {
});

const arn = (name: string) => `arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:${name}`;
const request = (input: unknown, name = 'exec-a'): ResolveRunRequest => ({ input, executionArn: arn(name), executionName: name });
let store: MemoryStore;
beforeEach(() => {
  store = new MemoryStore();
});
const deps = (now: string) => ({ ledger, store, now: new Date(now), timeZone: 'Africa/Johannesburg', leaseMinutes: 360 });
const monthItem = async (month: string) => (await table.item(`month#${month}`)) as unknown as MonthRecord;

function expectRun(result: ResolveRunResult): Extract<ResolveRunResult, { outcome: 'run' }> {
  if (result.outcome !== 'run') throw new Error(`expected a run, got ${result.outcome}: ${result.message}`);
  return result;
}

describe('ResolveRun', () => {
  it('the schedule at 00:05 on April 1st in Johannesburg (22:05 UTC) extracts March and takes it', async () => {
    const result = expectRun(await resolveRun(request({}), deps('2024-03-31T22:05:00Z')));
    expect(result.run).toEqual({
      month: '2024-03',
      runId: 'exec-a',
      executionArn: arn('exec-a'),
      force: false,
      window: {
        month: '2024-03',
        windowStart: '2024-01-01',
        monthStart: '2024-03-01',
        windowEnd: '2024-04-01',
        fileDate: '20240331',
        year: '2024',
        monthOfYear: '03',
      },
      stagingPrefix: 'staging/month=2024-03/run=exec-a/',
    });
    expect(result.message).toBe('Extracting 2024-03 (attempt 1).');
    expect(await monthItem('2024-03')).toMatchObject({ status: 'RUNNING', executionArn: arn('exec-a'), leaseExpiresAt: '2024-04-01T04:05:00.000Z' });
  });

  it('in January the default is December of the year before, with a window across the year end', async () => {
    const result = expectRun(await resolveRun(request({}), deps('2025-01-01T00:30:00Z')));
    expect(result.run.window).toMatchObject({ month: '2024-12', windowStart: '2024-10-01', windowEnd: '2025-01-01', fileDate: '20241231' });
  });

  it('a month that already succeeded is skipped, saying how to force it, and the ledger is unchanged', async () => {
    expectRun(await resolveRun(request({ month: '2024-02' }, 'exec-a'), deps('2024-03-01T06:00:00Z')));
    await ledger.complete({
      month: '2024-02',
      executionArn: arn('exec-a'),
      runId: 'exec-a',
      stats: { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] },
      now: new Date('2024-03-01T07:00:00Z'),
    });
    const before = (await monthItem('2024-02'));

    const result = await resolveRun(request({ month: '2024-02' }, 'exec-b'), deps('2024-03-05T06:00:00Z'));
    expect(result).toEqual({
      outcome: 'skipped',
      month: '2024-02',
      message:
        `Skipped: 2024-02 already succeeded (execution ${arn('exec-a')}, finished 2024-03-01T07:00:00.000Z); nothing was changed. ` +
        'To extract it again, start with {"month":"2024-02","force":true}.',
    });
    expect(await monthItem('2024-02')).toEqual(before);

    const forced = expectRun(await resolveRun(request({ month: '2024-02', force: true }, 'exec-c'), deps('2024-03-05T06:00:00Z')));
    expect(forced.run).toMatchObject({ force: true, runId: 'exec-c', stagingPrefix: 'staging/month=2024-02/run=exec-c/' });
    expect(forced.message).toBe('Extracting 2024-02 (attempt 2, forced re-run).');
  });

  it('a second execution of a month in progress is told which execution holds it and touches nothing', async () => {
    await resolveRun(request({ month: '2024-03' }, 'exec-a'), deps('2024-04-01T00:00:00Z'));
    const result = await resolveRun(request({ month: '2024-03' }, 'exec-b'), deps('2024-04-01T00:20:00Z'));
    expect(result).toEqual({
      outcome: 'busy',
      month: '2024-03',
      holderExecutionArn: arn('exec-a'),
      message: `Not started: 2024-03 is being extracted by execution ${arn('exec-a')} (lease until 2024-04-01T06:00:00.000Z); this execution changed nothing.`,
    });
    expect(await monthItem('2024-03')).toMatchObject({ status: 'RUNNING', executionArn: arn('exec-a'), attempt: 1 });
  });

  it('a holder that died is taken over once its lease expires', async () => {
    await resolveRun(request({ month: '2024-03' }, 'exec-a'), deps('2024-04-01T00:00:00Z'));
    const result = expectRun(await resolveRun(request({ month: '2024-03' }, 'exec-b'), deps('2024-04-01T06:00:01Z')));
    expect(result.message).toBe('Extracting 2024-03 (attempt 2).');
    expect(await monthItem('2024-03')).toMatchObject({ executionArn: arn('exec-b'), attempt: 2 });
  });

  it('taking over from a holder that died mid-publish rolls its half-written files back first, and says so', async () => {
    const FILE = 'extracts/bank_name=A/year=2024/month=03/A_20240331.csv';
    const MANIFEST = 'extracts/_manifests/year=2024/month=03/manifest.json';
    store.seed(FILE, 'the previous run\'s file\n');
    const previous = (await store.head(FILE))!.versionId!;
    await resolveRun(request({ month: '2024-03', force: true }, 'exec-a'), deps('2024-04-01T00:00:00Z'));
    // exec-a journals its keys, replaces the file, and dies before its manifest.
    await ledger.beginPublish(
      '2024-03',
      { runId: 'exec-a', executionArn: arn('exec-a'), manifestKey: MANIFEST, startedAt: '2024-04-01T01:00:00.000Z', keys: [{ key: FILE, previousVersionId: previous }, { key: MANIFEST, previousVersionId: null }] },
      new Date('2024-04-01T01:00:00Z'),
    );
    store.seed(FILE, 'half of exec-a\'s publish\n');

    const result = expectRun(await resolveRun(request({ month: '2024-03' }, 'exec-b'), deps('2024-04-01T06:00:01Z')));
    expect(result.message).toBe(
      'Extracting 2024-03 (attempt 2). The unfinished publish of run exec-a was rolled back: 1 file(s) restored to their previous version, 0 removed; ' +
        "the month's files are as they were before it.",
    );
    expect(store.text(FILE)).toBe('the previous run\'s file\n');
    expect((await monthItem('2024-03')).publishing).toBeUndefined();
  });

  it('bad input fails with InvalidInput naming the field, before the ledger is touched', async () => {
    await expect(resolveRun(request({ month: '2024-03', force: 'yes' }), deps('2024-04-10T00:00:00Z'))).rejects.toMatchObject({
      name: 'InvalidInput',
      field: 'force',
      message: 'force: must be true or false, got "yes"',
    });
    expect(await monthItem('2024-03')).toBeUndefined();
  });
});

describe('ResolveRun handler', () => {
  let handler: (event: ResolveRunRequest, context: typeof lambdaContext) => Promise<ResolveRunResult>;
  beforeAll(async () => {
    process.env.RUN_LEDGER_TABLE = LEDGER_TABLE;
    process.env.STAGE_TIME_ZONE = 'Africa/Johannesburg';
    process.env.RUN_LEASE_MINUTES = '360';
    process.env.EXTRACT_BUCKET = 'monthly-loan-extract-test-extracts';
    ({ handler } = await import('../../functions/resolve-run'));
  });

  it('takes the recorded event\'s month in the configured table and logs with month, run id and execution', async () => {
    const event = recordedEvent<ResolveRunRequest>('resolve-run.json');
    const logs = captureLogs();
    try {
      const result = await handler(event, lambdaContext);
      expect(result).toMatchObject({ outcome: 'run', month: '2024-03', run: { runId: event.executionName, executionArn: event.executionArn } });
    } finally {
      logs.restore();
    }
    expect(await monthItem('2024-03')).toMatchObject({ status: 'RUNNING', executionArn: event.executionArn });
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ message: 'Extracting 2024-03 (attempt 1).', month: '2024-03', runId: event.executionName, executionArn: event.executionArn }),
    );
  });

  it('reports bad input as an InvalidInput error, which the state machine ends the execution with', async () => {
    const event = { ...recordedEvent<ResolveRunRequest>('resolve-run.json'), input: { month: 'March' } };
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringMatching(/^month: must look like "YYYY-MM"/) });
    } finally {
      logs.restore();
    }
  });
});
