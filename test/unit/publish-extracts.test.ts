import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EXTRACT_HEADER } from '../../functions/core/extract-csv';
import { monthWindow, parseMonth } from '../../functions/core/month';
import type { PublishResult } from '../../functions/core/publish';
import { handler } from '../../functions/publish-extracts';
import { stagingPrefixFor } from '../../functions/core/run-context';
import event from '../events/publish-extracts.json';
import { FakeLedgerTable } from './dynamodb-run-ledger.fake';

const BUCKET = 'monthly-loan-extract-test-extracts';
const S = event.run.stagingPrefix;
const FNB_PART = `${S}rows/bank_id=1/part-00000-${event.run.runId}.c000.csv`;
const FNB_PARQUET_PART = `${S}analytics/bank_id=1/part-00000-${event.run.runId}.c000.parquet`;
const FNB_CSV = `${EXTRACT_HEADER}First National Bank,101,"Shop 33, ""Menlyn Park""",2024-02,130,27894012,343,69793470,23264490.00\n`;
const STAGED: Record<string, string> = {
  [`${S}banks/part-00000.json`]: '{"bank_id":1,"bank_name":"First National Bank"}\n{"bank_id":3,"bank_name":"Société Générale"}\n',
  [`${S}rejected/part-00000.json`]: '{"reason":"null_amount","loan_count":7}\n',
  [`${S}source_rows/part-00000.json`]: '{"table":"loans","row_count":12440}\n',
  [FNB_PART]: FNB_CSV,
  [FNB_PARQUET_PART]: 'PAR1 (the rows as Parquet) PAR1',
};
const FNB_KEY = 'extracts/bank_name=FirstNationalBank/year=2024/month=02/FirstNationalBank_20240229.csv';
const SG_KEY = 'extracts/bank_name=SocieteGenerale/year=2024/month=02/SocieteGenerale_20240229.csv';
const MANIFEST_KEY = 'extracts/_manifests/year=2024/month=02/manifest.json';

const context = {
  functionName: 'monthly-loan-extract-test-publishExtracts',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:af-south-1:123456789012:function:monthly-loan-extract-test-publishExtracts',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const s3 = mockClient(S3Client);

function mockStagedBucket(): void {
  s3.reset();
  s3.on(ListObjectsV2Command).resolves({ Contents: Object.entries(STAGED).map(([Key, body]) => ({ Key, Size: Buffer.byteLength(body) })) });
  for (const [Key, body] of Object.entries(STAGED)) {
    s3.on(GetObjectCommand, { Key }).callsFake(() => ({ Body: Readable.from([Buffer.from(body)]) }));
  }
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
  s3.on(HeadObjectCommand, { Key: FNB_PART }).resolves({ ContentLength: Buffer.byteLength(FNB_CSV), VersionId: 'p1' });
  s3.on(HeadObjectCommand, { Key: FNB_PARQUET_PART }).resolves({ ContentLength: Buffer.byteLength(STAGED[FNB_PARQUET_PART]!), VersionId: 'p2' });
  s3.on(CopyObjectCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  s3.on(DeleteObjectsCommand).resolves({});
}

// The handler reads them on first use (not at import) and keeps its clients for the container's life.
process.env.EXTRACT_BUCKET = BUCKET;
process.env.RUN_LEDGER_TABLE = 'monthly-loan-extract-test-run-ledger';

const ddb = mockClient(DynamoDBDocumentClient);
let table: FakeLedgerTable;

/** The month as ResolveRun left it: held by the event's execution. */
function monthHeldByTheRun(): void {
  ddb.reset();
  table = new FakeLedgerTable(ddb);
  table.items.set('month#2024-02', {
    pk: 'month#2024-02',
    month: '2024-02',
    status: 'RUNNING',
    executionArn: event.run.executionArn,
    runId: event.run.runId,
    force: false,
    attempt: 1,
    leaseExpiresAt: '2999-01-01T00:00:00.000Z',
    startedAt: '2024-03-01T00:00:00.000Z',
    updatedAt: '2024-03-01T00:00:00.000Z',
    history: [],
  });
}

describe('publish-extracts handler', () => {
  let logLines: string[];
  beforeEach(() => {
    mockStagedBucket();
    monthHeldByTheRun();
    // Powertools writes JSON lines to stdout: keep them to read, and out of the test report.
    logLines = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logLines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('carries a recorded event whose window is the month logic\'s own', () => {
    expect(event.run.window).toEqual(monthWindow(parseMonth(event.run.month)));
    expect(event.run.stagingPrefix).toBe(stagingPrefixFor(event.run.month, event.run.runId));
  });

  it('publishes the staged month into EXTRACT_BUCKET and returns the result for the state machine', async () => {

    const result: PublishResult = await handler(event, context);

    expect(result).toMatchObject({ month: '2024-02', runId: event.run.runId, manifestKey: MANIFEST_KEY, alreadyPublished: false });
    expect(result.files.map((f) => [f.key, f.rows, f.controlTotals.loan_amount])).toEqual([
      [FNB_KEY, 1, '27894012'],
      [SG_KEY, 0, '0'],
    ]);
    // The result crosses into Step Functions as JSON: it must survive that unchanged.
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);

    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: BUCKET,
      Key: FNB_KEY,
      CopySource: expect.stringContaining(`${BUCKET}/staging/month%3D2024-02/`),
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: SG_KEY, Body: EXTRACT_HEADER });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.at(-1)!.Key).toBe(MANIFEST_KEY);
    expect(JSON.parse(String(puts.at(-1)!.Body))).toMatchObject({ month: '2024-02', runId: event.run.runId, rowsRejected: { null_amount: 7 } });
    expect(s3).toHaveReceivedCommand(DeleteObjectsCommand);
    // The journal was written to the month's record before the first copy, and closed after the manifest.
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: 'monthly-loan-extract-test-run-ledger', Key: { pk: 'month#2024-02' } });
    expect(table.items.get('month#2024-02')!.publishing).toBeUndefined();
  });

  it('logs with the month, run id and execution of the run', async () => {
    await handler(event, context);

    const published = logLines.map((l) => JSON.parse(l)).find((l) => l.message === 'month published');
    expect(published).toMatchObject({
      month: '2024-02',
      runId: event.run.runId,
      executionArn: event.run.executionArn,
      manifestKey: MANIFEST_KEY,
      function_request_id: context.awsRequestId,
    });
  });

  it('fails naming EXTRACT_BUCKET when it is not set', async () => {
    const saved = process.env.EXTRACT_BUCKET;
    delete process.env.EXTRACT_BUCKET;
    try {
      // A fresh copy of the module, whose store is not created yet; it must fail before any S3 call.
      let fresh: typeof handler | undefined;
      jest.isolateModules(() => {
        fresh = (jest.requireActual('../../functions/publish-extracts') as typeof import('../../functions/publish-extracts')).handler;
      });
      await expect(fresh!(event, context)).rejects.toThrow('EXTRACT_BUCKET environment variable is not set');
    } finally {
      process.env.EXTRACT_BUCKET = saved;
    }
  });

  it('refuses an event without the run', async () => {
    await expect(handler({ month: '2024-02' } as never, context)).rejects.toThrow(/expects \{"run": RunContext\}/);
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });
});
