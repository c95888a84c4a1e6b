/**
 * The missed-month check against the run ledger in dynalite (DynamoDB's API): the once-a-day rule is
 * a conditional write, so it is checked where DynamoDB evaluates it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbMissedMonthNotices } from '../../functions/commons/clients/dynamodb-missed-month-notices';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { definitionKey, deployedExtracts } from '../../functions/core/deployed-extracts';
import { checkMissedMonth, checkMissedMonths, type MissedMonthDeps } from '../../functions/core/missed-month';
import { MemoryStore } from '../support/memory-object-store';
import { LOAN_EXTRACT } from '../support/run-context';
import { startDynamoDbStandIn } from '../../local/stand-ins/dynamodb';

const LOAN = LOAN_EXTRACT;
/** Another extract, in New York: on 2 April its last complete month is March too, but its day starts later. */
const OTHER = { ...LOAN_EXTRACT, id: 'other-extract', schedule: { cron: 'cron(30 6 3 * ? *)', timeZone: 'America/New_York' } };
const MACHINE = 'arn:aws:states:af-south-1:123456789012:stateMachine:monthly-loan-extract-prod';
const arn = (name: string) => `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;
/** 10:00 on 2 April 2024 in Johannesburg: the last complete month is 2024-03. */
const APRIL_2 = new Date('2024-04-02T08:00:00Z');

let dir: string;
let table = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'missed-month-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh table per test (the stand-in creates it), a ledger on it and a recording mailbox. */
async function setUp() {
  const name = `ledger-${++table}`;
  const own = await startDynamoDbStandIn(join(dir, name), name);
  const ownClient = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: own.url, region: 'af-south-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
  const ledger = new DynamoDbRunLedger(ownClient, name);
  const sent: { subject: string; body: string; extract?: string }[] = [];
  let failSends = 0;
  const deps = (now: Date): MissedMonthDeps => ({
    ledger,
    notices: new DynamoDbMissedMonthNotices(ownClient, name),
    alerts: {
      send: async (subject, body, attributes) => {
        if (failSends-- > 0) throw new Error('SNS is down');
        sent.push({ subject, body, ...attributes });
      },
    },
    stage: 'prod',
    region: 'af-south-1',
    stateMachineArn: MACHINE,
    now,
  });
  cleanups.push(async () => {
    ownClient.destroy();
    await own.close();
  });
  return { ledger, sent, deps, failNextSends: (n: number) => (failSends = n) };
}
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const take = (ledger: DynamoDbRunLedger, name: string, at: Date, leaseHours = 6, extract = LOAN.id) =>
  ledger.take({ extract, month: '2024-03', executionArn: arn(name), runId: name, force: false, now: at, leaseExpiresAt: new Date(at.getTime() + leaseHours * 3600_000) });

describe('the missed-month check', () => {
  it('emails a month that never ran: the month, no attempt, the exact re-run input', async () => {
    const { sent, deps } = await setUp();
    const result = await checkMissedMonth(LOAN, deps(APRIL_2));
    expect(result).toMatchObject({
      extract: 'loan-moving-average',
      month: '2024-03',
      day: '2024-04-02',
      state: 'never-ran',
      outcome: 'emailed',
      rerunInput: { extract: 'loan-moving-average', month: '2024-03' },
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ subject: '[prod] loan-moving-average 2024-03 not published: never ran', extract: 'loan-moving-average' });
    expect(sent[0]!.body).toContain('Extract:       loan-moving-average\n');
    expect(sent[0]!.body).toContain('Last attempt:  none: the run ledger has no record of the month.');
    expect(sent[0]!.body).toContain('\n    {"extract":"loan-moving-average","month":"2024-03"}\n');
    expect(sent[0]!.body).toContain(`aws stepfunctions start-execution --state-machine-arn ${MACHINE} --input '{"extract":"loan-moving-average","month":"2024-03"}'`);
    expect(sent[0]!.body).toContain('npm run rerun -- --stage prod --extract loan-moving-average --month 2024-03');
  });

  it('emails a failed month with its last attempt, step, error and cause', async () => {
    const { ledger, sent, deps } = await setUp();
    await take(ledger, 'first', new Date('2024-04-01T00:00:00Z'));
    const failure = { failedStep: 'GetExtractJobState', error: 'ExtractJobFailed', cause: 'Glue job run jr_1 ended FAILED: out of memory' };
    await ledger.fail({ extract: LOAN.id, month: '2024-03', executionArn: arn('first'), runId: 'first', failure, now: new Date('2024-04-01T01:00:00Z') });
    const result = await checkMissedMonth(LOAN, deps(APRIL_2));
    expect(result).toMatchObject({ state: 'failed', outcome: 'emailed' });
    expect(sent[0]!.subject).toBe('[prod] loan-moving-average 2024-03 not published: failed');
    expect(sent[0]!.body).toContain('Last attempt:  #1, started 2024-04-01T00:00:00.000Z');
    expect(sent[0]!.body).toContain(`Execution:     ${arn('first')}`);
    expect(sent[0]!.body).toContain('Outcome:       FAILED at 2024-04-01T01:00:00.000Z');
    expect(sent[0]!.body).toContain('Failed step:   GetExtractJobState\nError:         ExtractJobFailed\nCause:         Glue job run jr_1 ended FAILED: out of memory');
  });

  it('emails a month RUNNING past its lease (its holder died), and not one still within its lease', async () => {
    const { ledger, sent, deps } = await setUp();
    await take(ledger, 'holder', new Date('2024-04-02T00:00:00Z'), 6);
    // 02:00 UTC: the lease (to 06:00) holds, the run may still succeed.
    expect(await checkMissedMonth(LOAN, deps(new Date('2024-04-02T02:00:00Z')))).toMatchObject({ state: 'in-progress', outcome: 'ok' });
    expect(sent).toEqual([]);
    const result = await checkMissedMonth(LOAN, deps(APRIL_2));
    expect(result).toMatchObject({ state: 'lease-expired', outcome: 'emailed' });
    expect(sent[0]!.subject).toBe('[prod] loan-moving-average 2024-03 not published: stuck RUNNING past its lease');
    expect(sent[0]!.body).toContain('its lease ran out at 2024-04-02T06:00:00.000Z');
  });

  it('sends nothing once the month succeeded', async () => {
    const { ledger, sent, deps } = await setUp();
    await take(ledger, 'good', new Date('2024-04-01T00:00:00Z'));
    await ledger.complete({ extract: LOAN.id, month: '2024-03', executionArn: arn('good'), runId: 'good', now: new Date('2024-04-01T01:00:00Z'), stats: { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] } });
    expect(await checkMissedMonth(LOAN, deps(APRIL_2))).toMatchObject({ state: 'succeeded', outcome: 'ok' });
    expect(sent).toEqual([]);
  });

  it('sends at most one email per missed month per day, even from two checks at once, and again the next day', async () => {
    const { sent, deps } = await setUp();
    const [a, b] = await Promise.all([checkMissedMonth(LOAN, deps(APRIL_2)), checkMissedMonth(LOAN, deps(APRIL_2))]);
    expect([a.outcome, b.outcome].sort()).toEqual(['already-emailed', 'emailed']);
    // 23:30 in Johannesburg is still 2 April there.
    expect(await checkMissedMonth(LOAN, deps(new Date('2024-04-02T21:30:00Z')))).toMatchObject({ day: '2024-04-02', outcome: 'already-emailed' });
    expect(sent).toHaveLength(1);
    expect(await checkMissedMonth(LOAN, deps(new Date('2024-04-02T22:30:00Z')))).toMatchObject({ day: '2024-04-03', outcome: 'emailed' });
    expect(sent).toHaveLength(2);
  });

  it('releases the day\'s claim when the email cannot be sent, so the next check sends it', async () => {
    const { sent, deps, failNextSends } = await setUp();
    failNextSends(1);
    await expect(checkMissedMonth(LOAN, deps(APRIL_2))).rejects.toThrow('SNS is down');
    expect(await checkMissedMonth(LOAN, deps(APRIL_2))).toMatchObject({ outcome: 'emailed' });
    expect(sent).toHaveLength(1);
  });

  it('checks every deployed extract, each in its own time zone and ledger record, one email per extract', async () => {
    const { ledger, sent, deps } = await setUp();
    const scripts = new MemoryStore(false);
    scripts.seed(definitionKey(LOAN.id), JSON.stringify(LOAN));
    scripts.seed(definitionKey(OTHER.id), JSON.stringify(OTHER));
    // The loan extract's March succeeded; the other extract's March never ran.
    await take(ledger, 'good', new Date('2024-04-01T00:00:00Z'));
    await ledger.complete({ extract: LOAN.id, month: '2024-03', executionArn: arn('good'), runId: 'good', now: new Date('2024-04-01T01:00:00Z'), stats: { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] } });
    // 01:00 UTC on 2 April: still 1 April in New York.
    const check = () => checkMissedMonths({ ...deps(new Date('2024-04-02T01:00:00Z')), extractIds: [LOAN.id, OTHER.id], extracts: deployedExtracts(scripts) });
    const results = await check();
    expect(results.map((r) => [r.extract, r.month, r.day, r.state, r.outcome])).toEqual([
      ['loan-moving-average', '2024-03', '2024-04-02', 'succeeded', 'ok'],
      ['other-extract', '2024-03', '2024-04-01', 'never-ran', 'emailed'],
    ]);
    expect(sent).toEqual([expect.objectContaining({ subject: '[prod] other-extract 2024-03 not published: never ran', extract: 'other-extract' })]);
    expect(sent[0]!.body).toContain('Month:         2024-03 (the last complete month in America/New_York on 2024-04-01)');
    expect((await check()).map((r) => r.outcome)).toEqual(['ok', 'already-emailed']);
    expect(sent).toHaveLength(1);
  });

  it('an extract whose definition cannot be read does not keep the others from being checked; the check then fails naming it', async () => {
    const { sent, deps } = await setUp();
    const scripts = new MemoryStore(false);
    scripts.seed(definitionKey(OTHER.id), JSON.stringify(OTHER));
    const checking = checkMissedMonths({ ...deps(APRIL_2), extractIds: ['gone-extract', OTHER.id], extracts: deployedExtracts(scripts) });
    await expect(checking).rejects.toThrow('The missed-month check failed for 1 extract(s): gone-extract: InvalidInput: extract: no extract gone-extract is deployed');
    expect(sent.map((email) => email.extract)).toEqual(['other-extract']);
  });
});
