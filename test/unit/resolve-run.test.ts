import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { deployedExtracts, definitionKey } from '../../functions/core/deployed-extracts';
import { resolveRun, type ResolveRunRequest, type ResolveRunResult } from '../../functions/core/resolve-run';
import type { MonthRecord } from '../../functions/core/run-ledger';
import { MemoryStore } from '../support/memory-object-store';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';
import { LOAN_EXTRACT } from '../support/run-context';
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
const LOAN = 'loan-moving-average';
const LOAN_JSON = readFileSync(join(__dirname, '..', '..', 'extracts', LOAN, 'extract.json'), 'utf8');
/** A second extract as deployed: the loan's definition under another id, in New York. */
const OTHER = { ...LOAN_EXTRACT, id: 'other-extract', schedule: { cron: 'cron(30 6 3 * ? *)', timeZone: 'America/New_York' } };
let store: MemoryStore;
/** The scripts bucket, where each extract's definition is deployed. */
let scripts: MemoryStore;
beforeEach(() => {
  store = new MemoryStore();
  scripts = new MemoryStore(false);
  scripts.seed(definitionKey(LOAN), LOAN_JSON);
  scripts.seed(definitionKey(OTHER.id), JSON.stringify(OTHER));
});
const deps = (now: string) => ({ ledger, store, extracts: deployedExtracts(scripts), now: new Date(now), leaseMinutes: 360 });
const monthItem = async (month: string, extract = LOAN) => (await table.item(`extract#${extract}#month#${month}`)) as unknown as MonthRecord;

function expectRun(result: ResolveRunResult): Extract<ResolveRunResult, { outcome: 'run' }> {
  if (result.outcome !== 'run') throw new Error(`expected a run, got ${result.outcome}: ${result.message}`);
  return result;
}

describe('ResolveRun', () => {
  it('the schedule at 00:05 on April 1st in Johannesburg (22:05 UTC) extracts March and takes it', async () => {
    const result = expectRun(await resolveRun(request({}), deps('2024-03-31T22:05:00Z')));
    expect(result.run).toEqual({
      extract: LOAN_EXTRACT,
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
      stagingPrefix: 'staging/extract=loan-moving-average/month=2024-03/run=exec-a/',
    });
    expect(result.message).toBe('Extracting loan-moving-average 2024-03 (attempt 1).');
    expect(await monthItem('2024-03')).toMatchObject({ extract: LOAN, status: 'RUNNING', executionArn: arn('exec-a'), leaseExpiresAt: '2024-04-01T04:05:00.000Z' });
  });

  it('in January the default is December of the year before, with a window across the year end', async () => {
    const result = expectRun(await resolveRun(request({}), deps('2025-01-01T00:30:00Z')));
    expect(result.run.window).toMatchObject({ month: '2024-12', windowStart: '2024-10-01', windowEnd: '2025-01-01', fileDate: '20241231' });
  });

  it('a month that already succeeded is skipped, saying how to force it, and the ledger is unchanged', async () => {
    expectRun(await resolveRun(request({ month: '2024-02' }, 'exec-a'), deps('2024-03-01T06:00:00Z')));
    await ledger.complete({
      extract: LOAN,
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
      extract: LOAN,
      month: '2024-02',
      message:
        `Skipped: loan-moving-average 2024-02 already succeeded (execution ${arn('exec-a')}, finished 2024-03-01T07:00:00.000Z); nothing was changed. ` +
        'To extract it again, start with {"extract":"loan-moving-average","month":"2024-02","force":true}.',
    });
    expect(await monthItem('2024-02')).toEqual(before);

    const forced = expectRun(await resolveRun(request({ month: '2024-02', force: true }, 'exec-c'), deps('2024-03-05T06:00:00Z')));
    expect(forced.run).toMatchObject({ force: true, runId: 'exec-c', stagingPrefix: 'staging/extract=loan-moving-average/month=2024-02/run=exec-c/' });
    expect(forced.message).toBe('Extracting loan-moving-average 2024-02 (attempt 2, forced re-run).');
  });

  it('a second execution of a month in progress is told which execution holds it and touches nothing', async () => {
    await resolveRun(request({ month: '2024-03' }, 'exec-a'), deps('2024-04-01T00:00:00Z'));
    const result = await resolveRun(request({ month: '2024-03' }, 'exec-b'), deps('2024-04-01T00:20:00Z'));
    expect(result).toEqual({
      outcome: 'busy',
      extract: LOAN,
      month: '2024-03',
      holderExecutionArn: arn('exec-a'),
      message: `Not started: loan-moving-average 2024-03 is being extracted by execution ${arn('exec-a')} (lease until 2024-04-01T06:00:00.000Z); this execution changed nothing.`,
    });
    expect(await monthItem('2024-03')).toMatchObject({ status: 'RUNNING', executionArn: arn('exec-a'), attempt: 1 });
  });

  it('a holder that died is taken over once its lease expires', async () => {
    await resolveRun(request({ month: '2024-03' }, 'exec-a'), deps('2024-04-01T00:00:00Z'));
    const result = expectRun(await resolveRun(request({ month: '2024-03' }, 'exec-b'), deps('2024-04-01T06:00:01Z')));
    expect(result.message).toBe('Extracting loan-moving-average 2024-03 (attempt 2).');
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
      LOAN,
      '2024-03',
      { runId: 'exec-a', executionArn: arn('exec-a'), manifestKey: MANIFEST, startedAt: '2024-04-01T01:00:00.000Z', keys: [{ key: FILE, previousVersionId: previous }, { key: MANIFEST, previousVersionId: null }] },
      new Date('2024-04-01T01:00:00Z'),
    );
    store.seed(FILE, 'half of exec-a\'s publish\n');

    const result = expectRun(await resolveRun(request({ month: '2024-03' }, 'exec-b'), deps('2024-04-01T06:00:01Z')));
    expect(result.message).toBe(
      'Extracting loan-moving-average 2024-03 (attempt 2). The unfinished publish of run exec-a was rolled back: 1 file(s) restored to their previous version, 0 removed; ' +
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

  it('runs the extract the input names: its definition on the run, its month in its time zone, its own ledger record', async () => {
    // 23:30 UTC on March 31st is already April 1st in Johannesburg, still March in New York.
    const other = expectRun(await resolveRun(request({ extract: OTHER.id }, 'exec-o'), deps('2024-03-31T23:30:00Z')));
    expect(other.run).toMatchObject({ extract: OTHER, month: '2024-02', stagingPrefix: 'staging/extract=other-extract/month=2024-02/run=exec-o/' });
    expect(other.message).toBe('Extracting other-extract 2024-02 (attempt 1).');
    const loan = expectRun(await resolveRun(request({}, 'exec-l'), deps('2024-03-31T23:30:00Z')));
    expect(loan.run).toMatchObject({ extract: { id: LOAN }, month: '2024-03' });
    // The same month of two extracts: two records, neither busy because of the other.
    expectRun(await resolveRun(request({ extract: OTHER.id, month: '2024-03' }, 'exec-o2'), deps('2024-04-10T00:00:00Z')));
    expect(await monthItem('2024-03', OTHER.id)).toMatchObject({ extract: OTHER.id, executionArn: arn('exec-o2') });
    expect(await monthItem('2024-03')).toMatchObject({ extract: LOAN, executionArn: arn('exec-l') });
  });

  it.each([
    [{ extract: 'Loan Extract' }, 'extract: must be an extract\'s id'],
    [{ extract: 7 }, 'extract: must be an extract\'s id'],
    [{ extract: 'not-deployed' }, 'extract: no extract not-deployed is deployed (there is no extracts/not-deployed/extract.json in the scripts bucket)'],
  ])('refuses %j as InvalidInput naming extract, before the ledger is touched', async (input, message) => {
    await expect(resolveRun(request({ ...input, month: '2024-03' }), deps('2024-04-10T00:00:00Z'))).rejects.toMatchObject({
      name: 'InvalidInput',
      field: 'extract',
      message: expect.stringContaining(message),
    });
    expect(await monthItem('2024-03')).toBeUndefined();
  });

  it('a deployed definition that does not check fails with ExtractDefinitionError naming the field (not retried: it is no transient)', async () => {
    scripts.seed(definitionKey(OTHER.id), JSON.stringify({ ...OTHER, schedule: { cron: 'cron(0 2 1 * ? *)', timeZone: 'Mars/Olympus' } }));
    await expect(resolveRun(request({ extract: OTHER.id, month: '2024-03' }), deps('2024-04-10T00:00:00Z'))).rejects.toMatchObject({
      name: 'ExtractDefinitionError',
      message: expect.stringContaining('schedule.timeZone: "Mars/Olympus" is not an IANA time zone'),
    });
    scripts.seed(definitionKey(OTHER.id), '{"id": ');
    await expect(resolveRun(request({ extract: OTHER.id, month: '2024-03' }), deps('2024-04-10T00:00:00Z'))).rejects.toMatchObject({
      name: 'ExtractDefinitionError',
      message: expect.stringContaining('extracts/other-extract/extract.json: cannot be read as JSON'),
    });
    scripts.seed(definitionKey(OTHER.id), LOAN_JSON);
    await expect(resolveRun(request({ extract: OTHER.id, month: '2024-03' }), deps('2024-04-10T00:00:00Z'))).rejects.toMatchObject({
      name: 'ExtractDefinitionError',
      message: expect.stringContaining('id: loan-moving-average is not the folder\'s name other-extract'),
    });
    expect(await monthItem('2024-03', OTHER.id)).toBeUndefined();
  });
});

describe('ResolveRun handler', () => {
  let handler: (event: ResolveRunRequest, context: typeof lambdaContext) => Promise<ResolveRunResult>;
  beforeAll(async () => {
    process.env.RUN_LEDGER_TABLE = LEDGER_TABLE;
    process.env.RUN_LEASE_MINUTES = '360';
    process.env.EXTRACT_BUCKET = 'monthly-loan-extract-test-extracts';
    process.env.EXTRACT_DEFINITIONS_BUCKET = 'monthly-loan-extract-test-scripts';
    ({ handler } = await import('../../functions/resolve-run'));
  });
  const s3 = mockClient(S3Client);
  beforeEach(() => {
    s3.reset();
    const Key = definitionKey(LOAN);
    s3.on(HeadObjectCommand, { Bucket: 'monthly-loan-extract-test-scripts', Key }).resolves({ ContentLength: LOAN_JSON.length });
    s3.on(GetObjectCommand, { Bucket: 'monthly-loan-extract-test-scripts', Key }).callsFake(() => ({ Body: Readable.from([Buffer.from(LOAN_JSON)]) }));
  });
  afterAll(() => s3.restore());

  it('takes the recorded event\'s month in the configured table and logs with month, run id and execution', async () => {
    const event = recordedEvent<ResolveRunRequest>('resolve-run.json');
    const logs = captureLogs();
    try {
      const result = await handler(event, lambdaContext);
      expect(result).toMatchObject({ outcome: 'run', extract: LOAN, month: '2024-03', run: { extract: LOAN_EXTRACT, runId: event.executionName, executionArn: event.executionArn } });
    } finally {
      logs.restore();
    }
    expect(await monthItem('2024-03')).toMatchObject({ status: 'RUNNING', executionArn: event.executionArn });
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ message: 'Extracting loan-moving-average 2024-03 (attempt 1).', extract: LOAN, month: '2024-03', runId: event.executionName, executionArn: event.executionArn }),
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
