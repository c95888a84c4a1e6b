import 'aws-sdk-client-mock-jest';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { completeRun, runStats, type CompleteRunOutput, type PublishOutput } from '../../functions/core/complete-run';
import type { RunContext } from '../../functions/core/run-context';
import type { MonthRecord } from '../../functions/core/run-ledger';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

type Event = { run: RunContext; published: PublishOutput };
const table = useLedgerTable();
let ledger: DynamoDbRunLedger;
beforeAll(() => {
  ledger = table.ledger;
});
const event = recordedEvent<Event>('complete-run.json');
let handler: (event: Event, context: typeof lambdaContext) => Promise<CompleteRunOutput>;

beforeAll(async () => {
  process.env.RUN_LEDGER_TABLE = LEDGER_TABLE;
  ({ handler } = await import('../../functions/complete-run'));
});
beforeEach(() => {
});

async function hold(executionArn: string) {
  await ledger.take({
    extract: 'loan-moving-average',
    month: '2024-03',
    executionArn,
    runId: executionArn.split(':').pop()!,
    force: false,
    now: new Date('2024-03-31T22:00:01Z'),
    leaseExpiresAt: new Date('2024-04-01T04:00:01Z'),
  });
}
const monthItem = async () => (await table.item('extract#loan-moving-average#month#2024-03')) as unknown as MonthRecord;

describe('CompleteRun', () => {
  it('sums what was published', () => {
    expect(runStats(event.published)).toMatchObject({
      manifestKey: 'extracts/_manifests/year=2024/month=03/manifest.json',
      fileCount: 3,
      rows: 200,
      bytes: 17555,
    });
  });

  it('marks the month SUCCEEDED with the publish stats and says what was published', async () => {
    await hold(event.run.executionArn);
    const logs = captureLogs();
    let output: CompleteRunOutput;
    try {
      output = await handler(event, lambdaContext);
    } finally {
      logs.restore();
    }
    expect(output).toEqual({
      outcome: 'succeeded',
      month: '2024-03',
      runId: event.run.runId,
      manifestKey: 'extracts/_manifests/year=2024/month=03/manifest.json',
      fileCount: 3,
      rows: 200,
      message: 'Published 3 files for 2024-03 (200 rows); manifest extracts/_manifests/year=2024/month=03/manifest.json.',
    });
    expect(await monthItem()).toMatchObject({ status: 'SUCCEEDED', stats: { fileCount: 3, rows: 200, files: event.published.files } });
    // The file entries keep the control totals a consumer reconciles against.
    expect((await monthItem()).stats!.files[1]).toMatchObject({ bankName: 'First National Bank', controlTotals: { loan_count: '311', loan_amount: '48211000' } });
    expect(logs.lines).toContainEqual(expect.objectContaining({ message: output.message, month: '2024-03', executionArn: event.run.executionArn }));
  });

  it('refuses with LeaseLost when another execution took the month over, leaving its record alone', async () => {
    const other = event.run.executionArn.replace(/:[^:]+$/, ':taker');
    await hold(other);
    const before = (await monthItem());
    await expect(completeRun(event.run, event.published, ledger, new Date('2024-04-01T05:00:00Z'))).rejects.toMatchObject({
      name: 'LeaseLost',
      message: expect.stringContaining(`the ledger shows RUNNING by ${other}`),
    });
    expect(await monthItem()).toEqual(before);
  });
});
