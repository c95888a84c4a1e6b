/**
 * The ledger migration to records per extract (functions/commons/clients/dynamodb-ledger-migration.ts)
 * on dynalite: every old `month#` record becomes the loan extract's, a second run changes nothing,
 * and a record the new code already wrote is never overwritten.
 */
import { gzipSync } from 'node:zlib';
import { describeMigration, migrateLegacyLedger } from '../../functions/commons/clients/dynamodb-ledger-migration';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';

const table = useLedgerTable();
const LOAN = 'loan-moving-average';
const arn = (name: string) => `arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:${name}`;

const legacy = (month: string, fields: Record<string, unknown> = {}) => ({
  pk: `month#${month}`,
  month,
  status: 'SUCCEEDED',
  executionArn: arn(`old-${month}`),
  runId: `old-${month}`,
  force: false,
  attempt: 1,
  leaseExpiresAt: '2024-04-01T06:00:00.000Z',
  startedAt: '2024-04-01T00:00:00.000Z',
  updatedAt: '2024-04-01T00:03:00.000Z',
  history: [{ event: 'started', at: '2024-04-01T00:00:00.000Z', executionArn: arn(`old-${month}`), runId: `old-${month}` }],
  ...fields,
});

describe('migrating the run ledger to records per extract', () => {
  it('copies each old month record to the loan extract, keeping every attribute and leaving the old item', async () => {
    const journal = gzipSync(JSON.stringify({ runId: 'old-2024-02', keys: [] }));
    await table.put(legacy('2024-02', { status: 'RUNNING', publishing: journal, publishingRunId: 'old-2024-02' }));
    await table.put(legacy('2024-03', { stats: { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] } }));
    await table.put({ pk: `notice#${arn('x')}`, executionArn: arn('x') });

    const migration = await migrateLegacyLedger(table.client, LEDGER_TABLE);
    expect(migration).toEqual({ copied: ['2024-02', '2024-03'], alreadyPresent: [], legacyItems: 2 });

    const march = legacy('2024-03', { stats: { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] } });
    expect(await table.item(`extract#${LOAN}#month#2024-03`)).toEqual({ ...march, pk: `extract#${LOAN}#month#2024-03`, extract: LOAN });
    const february = await table.item(`extract#${LOAN}#month#2024-02`);
    expect(Buffer.from(february!.publishing as Uint8Array)).toEqual(journal);
    expect(february).toMatchObject({ publishingRunId: 'old-2024-02', status: 'RUNNING' });
    // The new ledger reads the copy as the loan extract's month, journal included.
    await expect(table.ledger.openJournal(LOAN, '2024-02')).resolves.toEqual({ runId: 'old-2024-02', keys: [] });
    expect(await table.item('month#2024-03')).toBeDefined();
  });

  it('is idempotent, and never overwrites a record written under the extract key since', async () => {
    await table.put(legacy('2024-03'));
    await table.put(legacy('2024-04'));
    await table.put({ ...legacy('2024-04', { status: 'RUNNING', runId: 'new-run' }), pk: `extract#${LOAN}#month#2024-04`, extract: LOAN });

    const first = await migrateLegacyLedger(table.client, LEDGER_TABLE);
    expect(first).toEqual({ copied: ['2024-03'], alreadyPresent: ['2024-04'], legacyItems: 2 });
    expect(await table.item(`extract#${LOAN}#month#2024-04`)).toMatchObject({ status: 'RUNNING', runId: 'new-run' });

    const second = await migrateLegacyLedger(table.client, LEDGER_TABLE);
    expect(second).toEqual({ copied: [], alreadyPresent: ['2024-03', '2024-04'], legacyItems: 2 });
    expect(describeMigration(second)).toBe(
      'Run ledger migrated to records per extract: 0 month record(s) copied to loan-moving-average; ' +
        '2 already had a record under loan-moving-average, left as it is (2024-03, 2024-04); the 2 old month# item(s) are left in the table.',
    );
  });

  it('does nothing on a ledger with no old records', async () => {
    const migration = await migrateLegacyLedger(table.client, LEDGER_TABLE);
    expect(migration).toEqual({ copied: [], alreadyPresent: [], legacyItems: 0 });
    expect(describeMigration(migration)).toBeUndefined();
  });
});
