/**
 * The publish journal on the month's record, against dynalite (a real DynamoDB API): the conditions
 * DynamoDB evaluates are what keep two executions from journaling one month.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import type { PublishJournal } from '../../functions/core/publish-journal';
import { LeaseLostError } from '../../functions/core/run-ledger';
import { startDynamoDbStandIn } from '../../local/stand-ins/dynamodb';
import type { LoopbackServer } from '../../local/stand-ins/loopback-server';

const LOAN = 'loan-moving-average';
const TABLE = 'run-ledger';
const arn = (name: string) => `arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:${name}`;
const T0 = new Date('2024-04-01T00:00:00Z');
const journalOf = (name: string): PublishJournal => ({
  runId: name,
  executionArn: arn(name),
  manifestKey: 'extracts/_manifests/year=2024/month=03/manifest.json',
  startedAt: T0.toISOString(),
  keys: [
    { key: 'extracts/bank_name=A/year=2024/month=03/A_20240331.csv', previousVersionId: 'v1' },
    { key: 'extracts/_manifests/year=2024/month=03/manifest.json', previousVersionId: null },
  ],
});

let dir: string;
let dynamo: LoopbackServer;
let client: DynamoDBDocumentClient;
let ledger: DynamoDbRunLedger;
let month = 0;
let current: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledger-journal-'));
  dynamo = await startDynamoDbStandIn(dir, TABLE);
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.url, region: 'af-south-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  ledger = new DynamoDbRunLedger(client, TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  // A fresh month per test, held by exec-a.
  current = `2024-${String(++month).padStart(2, '0')}`;
  await ledger.take({ extract: LOAN, month: current, executionArn: arn('exec-a'), runId: 'exec-a', force: false, now: T0, leaseExpiresAt: new Date('2024-04-01T06:00:00Z') });
});

describe('the publish journal in the DynamoDB run ledger', () => {
  it('is kept on the month\'s record by its holder, and read back as written', async () => {
    await ledger.beginPublish(LOAN, current, journalOf('exec-a'), T0);
    expect(await ledger.openJournal(LOAN, current)).toEqual(journalOf('exec-a'));
    expect((await ledger.get(LOAN, current))!.publishing).toEqual(journalOf('exec-a'));
  });

  it('cannot be begun by an execution that does not hold the month', async () => {
    await expect(ledger.beginPublish(LOAN, current, journalOf('exec-b'), T0)).rejects.toThrow(LeaseLostError);
    expect(await ledger.openJournal(LOAN, current)).toBeUndefined();
  });

  it('cannot be begun twice: an open journal must be settled first', async () => {
    await ledger.beginPublish(LOAN, current, journalOf('exec-a'), T0);
    await expect(ledger.beginPublish(LOAN, current, journalOf('exec-a'), T0)).rejects.toThrow(/unfinished publish/);
  });

  it('is closed only by its own run', async () => {
    await ledger.beginPublish(LOAN, current, journalOf('exec-a'), T0);
    await ledger.endPublish(LOAN, current, 'exec-b', T0);
    expect(await ledger.openJournal(LOAN, current)).toBeDefined();
    await ledger.endPublish(LOAN, current, 'exec-a', T0);
    expect(await ledger.openJournal(LOAN, current)).toBeUndefined();
    await ledger.endPublish(LOAN, current, 'exec-a', T0); // again: nothing to do
  });

  it('outlives a FAILED run, so the next run settles it; a SUCCEEDED run closes it', async () => {
    await ledger.beginPublish(LOAN, current, journalOf('exec-a'), T0);
    await ledger.fail({ extract: LOAN, month: current, executionArn: arn('exec-a'), runId: 'exec-a', failure: { failedStep: 'PublishExtracts', error: 'E', cause: 'c' }, now: T0 });
    expect(await ledger.openJournal(LOAN, current)).toEqual(journalOf('exec-a'));

    await ledger.take({ extract: LOAN, month: current, executionArn: arn('exec-b'), runId: 'exec-b', force: false, now: T0, leaseExpiresAt: new Date('2024-04-01T06:00:00Z') });
    await ledger.endPublish(LOAN, current, 'exec-a', T0);
    await ledger.beginPublish(LOAN, current, journalOf('exec-b'), T0);
    await ledger.complete({ extract: LOAN, month: current, executionArn: arn('exec-b'), runId: 'exec-b', stats: { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] }, now: T0 });
    expect(await ledger.openJournal(LOAN, current)).toBeUndefined();
    expect((await ledger.get(LOAN, current))!.status).toBe('SUCCEEDED');
  });
});
