/**
 * The ledger migration to records per extract (functions/commons/clients/dynamodb-ledger-migration.ts)
 * on dynalite: every old `month#` record becomes the loan extract's, a second run changes nothing,
 * and a record the new code already wrote is never overwritten. Before it has run (between the deploy
 * and `npm run ledger:migrate`), the pipeline sees the loan extract's old months as they were.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describeMigration, migrateLegacyLedger } from '../../functions/commons/clients/dynamodb-ledger-migration';
import { DynamoDbMissedMonthNotices } from '../../functions/commons/clients/dynamodb-missed-month-notices';
import { DynamoDbRunHistory } from '../../functions/commons/clients/dynamodb-run-history';
import { definitionKey, deployedExtracts } from '../../functions/core/deployed-extracts';
import { checkMissedMonth } from '../../functions/core/missed-month';
import type { PublishJournal } from '../../functions/core/publish-journal';
import { resolveRun } from '../../functions/core/resolve-run';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';
import { MemoryStore } from '../support/memory-object-store';
import { LOAN_EXTRACT } from '../support/run-context';

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

describe("the loan extract's months from before extracts were templated, before the migration has run", () => {
  const newKey = (month: string, extract = LOAN) => `extract#${extract}#month#${month}`;
  const succeeded = (month: string) =>
    legacy(month, { finishedAt: '2024-04-01T00:03:00.000Z', stats: { manifestKey: `m-${month}`, fileCount: 1, rows: 2, bytes: 3, files: [] } });
  const resolveDeps = (store: MemoryStore, now: string) => {
    const scripts = new MemoryStore(false);
    scripts.seed(definitionKey(LOAN), readFileSync(join(__dirname, '..', '..', 'extracts', LOAN, 'extract.json'), 'utf8'));
    return { ledger: table.ledger, store, extracts: deployedExtracts(scripts), now: new Date(now), leaseMinutes: 360 };
  };
  /** 00:05 on 1 April in Johannesburg: the schedule's run of March. */
  const SCHEDULED = '2024-03-31T22:05:00Z';

  it('skips a month that succeeded (a scheduled {} run does not re-run it) and copies its record unchanged', async () => {
    await table.put(succeeded('2024-03'));
    const result = await resolveRun({ input: {}, executionArn: arn('scheduled'), executionName: 'scheduled' }, resolveDeps(new MemoryStore(), SCHEDULED));
    expect(result).toMatchObject({ outcome: 'skipped', extract: LOAN, month: '2024-03' });
    expect(result.message).toContain(`already succeeded (execution ${arn('old-2024-03')}`);
    expect(await table.item(newKey('2024-03'))).toEqual({ ...succeeded('2024-03'), pk: newKey('2024-03'), extract: LOAN });
  });

  it('settles a publish journal left open before the deploy, then runs the month', async () => {
    const csv = 'extracts/bank_name=A/year=2024/month=03/A_20240331.csv';
    const manifest = 'extracts/_manifests/year=2024/month=03/manifest.json';
    const journal: PublishJournal = {
      runId: 'old-2024-03',
      executionArn: arn('old-2024-03'),
      manifestKey: manifest,
      startedAt: '2024-04-01T00:02:00.000Z',
      // The crashed run had written the CSV (new) but not its manifest.
      keys: [{ key: csv, previousVersionId: null }, { key: manifest, previousVersionId: null }],
    };
    await table.put(legacy('2024-03', { status: 'RUNNING', publishing: gzipSync(JSON.stringify(journal)), publishingRunId: 'old-2024-03' }));
    const store = new MemoryStore();
    store.seed(csv, 'half a publish');

    // 09:00 in Johannesburg on 1 April: the dead run's lease (to 06:00 UTC) has run out.
    const result = await resolveRun({ input: {}, executionArn: arn('next'), executionName: 'next' }, resolveDeps(store, '2024-04-01T07:00:00Z'));
    expect(result).toMatchObject({ outcome: 'run', month: '2024-03' });
    expect(result.message).toContain('The unfinished publish of run old-2024-03 was rolled back: 0 file(s) restored to their previous version, 1 removed');
    expect(store.keys()).toEqual([]);
    const record = await table.item(newKey('2024-03'));
    expect(record).toMatchObject({ status: 'RUNNING', runId: 'next', attempt: 2, extract: LOAN });
    expect(record).not.toHaveProperty('publishing');
    // The old record's history carries on in the copy.
    expect((record!.history as { runId: string }[]).map((e) => e.runId)).toEqual(['old-2024-03', 'next']);
  });

  it('shows the old months in the history, a month copied since from its copy, and none of them for another extract', async () => {
    await table.put(succeeded('2024-01'));
    await table.put(succeeded('2024-02'));
    await table.put({ ...succeeded('2024-02'), pk: newKey('2024-02'), extract: LOAN, attempt: 2 });
    await table.put({ ...legacy('2024-03', { status: 'FAILED' }), pk: newKey('2024-03', 'other-extract'), extract: 'other-extract' });
    const history = new DynamoDbRunHistory(table.client, LEDGER_TABLE);

    const months = (await history.listMonths(LOAN)).sort((a, b) => a.month.localeCompare(b.month));
    expect(months.map((r) => [r.month, r.extract, r.status, r.attempt])).toEqual([
      ['2024-01', LOAN, 'SUCCEEDED', 1],
      ['2024-02', LOAN, 'SUCCEEDED', 2],
    ]);
    expect((await history.listMonths('other-extract')).map((r) => r.month)).toEqual(['2024-03']);
  });

  it('lets the missed-month check see an old SUCCEEDED month as succeeded, without writing it', async () => {
    await table.put(succeeded('2024-03'));
    const sent: string[] = [];
    const result = await checkMissedMonth(LOAN_EXTRACT, {
      ledger: table.ledger,
      notices: new DynamoDbMissedMonthNotices(table.client, LEDGER_TABLE),
      alerts: { send: async (subject) => void sent.push(subject) },
      stage: 'prod',
      region: 'af-south-1',
      stateMachineArn: 'arn:aws:states:af-south-1:123456789012:stateMachine:monthly-loan-extract-prod',
      now: new Date('2024-04-02T08:00:00Z'),
    });
    expect(result).toMatchObject({ month: '2024-03', state: 'succeeded', outcome: 'ok' });
    expect(sent).toEqual([]);
    // The check has no write permission on month records: it reads the old one where it is.
    expect(await table.item(newKey('2024-03'))).toBeUndefined();
    // Another extract's month is never the old record's.
    expect(await table.ledger.get('other-extract', '2024-03')).toBeUndefined();
    // Once the month has its extract# record, that is the one read.
    await table.put({ ...legacy('2024-03', { status: 'FAILED' }), pk: newKey('2024-03'), extract: LOAN });
    expect(await table.ledger.get(LOAN, '2024-03')).toMatchObject({ status: 'FAILED', extract: LOAN });
  });
});
