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
import { checkMissedMonth, checkMissedMonths, dueMonths, MISSED_MONTH_GRACE_HOURS, monthDueAt, type MissedMonthDeps } from '../../functions/core/missed-month';
import { formatMonth, parseMonth } from '../../functions/core/month';
import { loadExtractFolder } from '../../extracts/folders';
import { MemoryStore } from '../support/memory-object-store';
import { LOAN_EXTRACT } from '../support/run-context';
import { startDynamoDbStandIn } from '../../local/stand-ins/dynamodb';

const LOAN = LOAN_EXTRACT;
/** Another extract, in New York, run at 06:30 on the 3rd: its March is due at 12:30 on 3 April there (16:30 UTC). */
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

const take = (ledger: DynamoDbRunLedger, name: string, at: Date, leaseHours = 6, extract = LOAN.id, month = '2024-03') =>
  ledger.take({ extract, month, executionArn: arn(name), runId: name, force: false, now: at, leaseExpiresAt: new Date(at.getTime() + leaseHours * 3600_000) });

/** The extract's month run and published, an hour after `at`. */
async function succeed(ledger: DynamoDbRunLedger, extract: string, month: string, at: Date) {
  const name = `${extract}-${month}`;
  await take(ledger, name, at, 6, extract, month);
  const stats = { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] };
  await ledger.complete({ extract, month, executionArn: arn(name), runId: name, now: new Date(at.getTime() + 3600_000), stats });
}

/** The second extract's real definition: `cron(30 6 3 * ? *)` in Europe/London. */
const CLIENT_ACTIVITY = loadExtractFolder(join(__dirname, '..', 'fixtures', 'extracts', 'client-activity')).definition;

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

  it('checks every deployed extract, each by its own schedule, time zone and ledger record, one email per extract', async () => {
    const { ledger, sent, deps } = await setUp();
    const scripts = new MemoryStore(false);
    scripts.seed(definitionKey(LOAN.id), JSON.stringify(LOAN));
    scripts.seed(definitionKey(OTHER.id), JSON.stringify(OTHER));
    // The loan extract's March succeeded; the other extract's February succeeded, its March never ran.
    await succeed(ledger, LOAN.id, '2024-03', new Date('2024-04-01T00:00:00Z'));
    await succeed(ledger, OTHER.id, '2024-02', new Date('2024-03-03T11:30:00Z'));
    const check = (now: string) => checkMissedMonths({ ...deps(new Date(now)), extractIds: [LOAN.id, OTHER.id], extracts: deployedExtracts(scripts) });
    // 01:00 UTC on 2 April: still 1 April in New York, and the other extract's March is not due until
    // its run on the 3rd plus the grace, so its latest month due is February, which succeeded.
    const early = await check('2024-04-02T01:00:00Z');
    expect(early.map((r) => [r.extract, r.month, r.day, r.state, r.outcome, r.notDue])).toEqual([
      ['loan-moving-average', '2024-03', '2024-04-02', 'succeeded', 'ok', []],
      ['other-extract', '2024-02', '2024-04-01', 'succeeded', 'ok', [{ month: '2024-03', dueAt: '2024-04-03T16:30:00.000Z' }]],
    ]);
    // A minute before it is due, still nothing.
    expect((await check('2024-04-03T16:29:00Z')).map((r) => [r.month, r.outcome])).toEqual([['2024-03', 'ok'], ['2024-02', 'ok']]);
    expect(sent).toEqual([]);
    const due = await check('2024-04-03T16:30:00Z');
    expect(due.map((r) => [r.extract, r.month, r.dueAt, r.day, r.state, r.outcome])).toEqual([
      ['loan-moving-average', '2024-03', '2024-04-01T06:00:00.000Z', '2024-04-03', 'succeeded', 'ok'],
      ['other-extract', '2024-03', '2024-04-03T16:30:00.000Z', '2024-04-03', 'never-ran', 'emailed'],
    ]);
    expect(sent).toEqual([expect.objectContaining({ subject: '[prod] other-extract 2024-03 not published: never ran', extract: 'other-extract' })]);
    expect(sent[0]!.body).toContain('Month:         2024-03 (due since 2024-04-03 12:30 America/New_York, 6 hours after its scheduled run; checked on 2024-04-03)');
    expect((await check('2024-04-03T18:00:00Z')).map((r) => r.outcome)).toEqual(['ok', 'already-emailed']);
    expect(sent).toHaveLength(1);
  });

  it('does not email a month of an extract run on the 3rd on the 1st or 2nd: it is due at its run plus the grace', async () => {
    const { ledger, sent, deps } = await setUp();
    await succeed(ledger, CLIENT_ACTIVITY.id, '2024-02', new Date('2024-03-03T06:30:00Z'));
    // The deployed check fires daily at 08:00 in Johannesburg: 07:00 in London (BST) in April.
    const outcomes: string[] = [];
    for (const day of ['01', '02', '03', '04']) {
      const result = await checkMissedMonth(CLIENT_ACTIVITY, deps(new Date(`2024-04-${day}T08:00:00+02:00`)));
      outcomes.push(`${result.day} ${result.month} ${result.state} ${result.outcome}`);
    }
    // 06:30 BST on 3 April plus 6 hours is 12:30 BST: not yet at 07:00 that day.
    expect(outcomes).toEqual([
      '2024-04-01 2024-02 succeeded ok',
      '2024-04-02 2024-02 succeeded ok',
      '2024-04-03 2024-02 succeeded ok',
      '2024-04-04 2024-03 never-ran emailed',
    ]);
    expect(sent.map((email) => email.subject)).toEqual(['[prod] client-activity 2024-03 not published: never ran']);
  });

  it('an extract run on the last day of the month is emailed once that day\'s run is 6 hours past, not every day before it', async () => {
    const { ledger, sent, deps } = await setUp();
    const lastDay = { ...LOAN, schedule: { cron: 'cron(0 2 L * ? *)', timeZone: 'Africa/Johannesburg' } };
    await succeed(ledger, LOAN.id, '2024-02', new Date('2024-03-31T00:00:00Z'));
    // Every day of April at 08:00 in Johannesburg, as the deployed check runs.
    for (let day = 1; day <= 30; day++) {
      await checkMissedMonth(lastDay, deps(new Date(`2024-04-${String(day).padStart(2, '0')}T08:00:00+02:00`)));
    }
    expect(sent.map((email) => email.subject)).toEqual(['[prod] loan-moving-average 2024-03 not published: never ran']);
    expect(sent[0]!.body).toContain('Month:         2024-03 (due since 2024-04-30 08:00 Africa/Johannesburg, 6 hours after its scheduled run; checked on 2024-04-30)');
  });

  it('keeps reporting the month before while the last complete month is not due yet', async () => {
    const { ledger, sent, deps } = await setUp();
    await take(ledger, 'feb', new Date('2024-03-03T06:30:00Z'), 6, CLIENT_ACTIVITY.id, '2024-02');
    const failure = { failedStep: 'PublishExtracts', error: 'PublishFailed', cause: 'access denied' };
    await ledger.fail({ extract: CLIENT_ACTIVITY.id, month: '2024-02', executionArn: arn('feb'), runId: 'feb', failure, now: new Date('2024-03-03T07:00:00Z') });
    const result = await checkMissedMonth(CLIENT_ACTIVITY, deps(new Date('2024-04-02T08:00:00+02:00')));
    expect(result).toMatchObject({ month: '2024-02', state: 'failed', outcome: 'emailed', notDue: [{ month: '2024-03', dueAt: '2024-04-03T11:30:00.000Z' }] });
    expect(sent.map((email) => email.subject)).toEqual(['[prod] client-activity 2024-02 not published: failed']);
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

describe('when a month is due', () => {
  const schedule = (cron: string, timeZone = 'Africa/Johannesburg') => ({ cron, timeZone });

  it('is the schedule\'s run in the month after, plus the grace', () => {
    expect(MISSED_MONTH_GRACE_HOURS).toBe(6);
    // The loan extract: 02:00 on the 1st in Johannesburg (UTC+2), so 08:00 there.
    expect(monthDueAt(schedule('cron(0 2 1 * ? *)'), parseMonth('2024-03')).toISOString()).toBe('2024-04-01T06:00:00.000Z');
    // December's run is in January of the next year.
    expect(monthDueAt(schedule('cron(0 2 1 * ? *)'), parseMonth('2024-12')).toISOString()).toBe('2025-01-01T06:00:00.000Z');
    // L in the month after: January is due on 29 February in a leap year.
    expect(monthDueAt(schedule('cron(0 2 L * ? *)'), parseMonth('2024-01')).toISOString()).toBe('2024-02-29T06:00:00.000Z');
  });

  it('walks back past each complete month not due yet: a run late on the last day is due after midnight', () => {
    // 03:00 on 1 May in Johannesburg: April runs on 31 May; March ran at 23:59 on 30 April and is due
    // at 05:59 on 1 May; February is the latest month due.
    const due = dueMonths(schedule('cron(59 23 L * ? *)'), new Date('2024-05-01T03:00:00+02:00'));
    expect(formatMonth(due.month)).toBe('2024-02');
    expect(due.notDue.map((m) => [formatMonth(m.month), m.dueAt.toISOString()])).toEqual([
      ['2024-04', '2024-06-01T03:59:00.000Z'],
      ['2024-03', '2024-05-01T03:59:00.000Z'],
    ]);
  });
});
