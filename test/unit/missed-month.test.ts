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
import { checkMissedMonth, type MissedMonthDeps } from '../../functions/core/missed-month';
import { startDynamoDbStandIn } from '../../local/stand-ins/dynamodb';

const TZ = 'Africa/Johannesburg';
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
  const sent: { subject: string; body: string }[] = [];
  let failSends = 0;
  const deps = (now: Date): MissedMonthDeps => ({
    ledger,
    notices: new DynamoDbMissedMonthNotices(ownClient, name),
    alerts: {
      send: async (subject, body) => {
        if (failSends-- > 0) throw new Error('SNS is down');
        sent.push({ subject, body });
      },
    },
    stage: 'prod',
    region: 'af-south-1',
    timeZone: TZ,
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

const take = (ledger: DynamoDbRunLedger, name: string, at: Date, leaseHours = 6) =>
  ledger.take({ month: '2024-03', executionArn: arn(name), runId: name, force: false, now: at, leaseExpiresAt: new Date(at.getTime() + leaseHours * 3600_000) });

describe('the missed-month check', () => {
  it('emails a month that never ran: the month, no attempt, the exact re-run input', async () => {
    const { sent, deps } = await setUp();
    const result = await checkMissedMonth(deps(APRIL_2));
    expect(result).toMatchObject({ month: '2024-03', day: '2024-04-02', state: 'never-ran', outcome: 'emailed', rerunInput: { month: '2024-03' } });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.subject).toBe('[prod] Loan extract 2024-03 not published: never ran');
    expect(sent[0]!.body).toContain('Last attempt:  none: the run ledger has no record of the month.');
    expect(sent[0]!.body).toContain('\n    {"month":"2024-03"}\n');
    expect(sent[0]!.body).toContain(`aws stepfunctions start-execution --state-machine-arn ${MACHINE} --input '{"month":"2024-03"}'`);
  });

  it('emails a failed month with its last attempt, step, error and cause', async () => {
    const { ledger, sent, deps } = await setUp();
    await take(ledger, 'first', new Date('2024-04-01T00:00:00Z'));
    const failure = { failedStep: 'GetExtractJobState', error: 'ExtractJobFailed', cause: 'Glue job run jr_1 ended FAILED: out of memory' };
    await ledger.fail({ month: '2024-03', executionArn: arn('first'), runId: 'first', failure, now: new Date('2024-04-01T01:00:00Z') });
    const result = await checkMissedMonth(deps(APRIL_2));
    expect(result).toMatchObject({ state: 'failed', outcome: 'emailed' });
    expect(sent[0]!.subject).toBe('[prod] Loan extract 2024-03 not published: failed');
    expect(sent[0]!.body).toContain('Last attempt:  #1, started 2024-04-01T00:00:00.000Z');
    expect(sent[0]!.body).toContain(`Execution:     ${arn('first')}`);
    expect(sent[0]!.body).toContain('Outcome:       FAILED at 2024-04-01T01:00:00.000Z');
    expect(sent[0]!.body).toContain('Failed step:   GetExtractJobState\nError:         ExtractJobFailed\nCause:         Glue job run jr_1 ended FAILED: out of memory');
  });

  it('emails a month RUNNING past its lease (its holder died), and not one still within its lease', async () => {
    const { ledger, sent, deps } = await setUp();
    await take(ledger, 'holder', new Date('2024-04-02T00:00:00Z'), 6);
    // 02:00 UTC: the lease (to 06:00) holds, the run may still succeed.
    expect(await checkMissedMonth(deps(new Date('2024-04-02T02:00:00Z')))).toMatchObject({ state: 'in-progress', outcome: 'ok' });
    expect(sent).toEqual([]);
    const result = await checkMissedMonth(deps(APRIL_2));
    expect(result).toMatchObject({ state: 'lease-expired', outcome: 'emailed' });
    expect(sent[0]!.subject).toBe('[prod] Loan extract 2024-03 not published: stuck RUNNING past its lease');
    expect(sent[0]!.body).toContain('its lease ran out at 2024-04-02T06:00:00.000Z');
  });

  it('sends nothing once the month succeeded', async () => {
    const { ledger, sent, deps } = await setUp();
    await take(ledger, 'good', new Date('2024-04-01T00:00:00Z'));
    await ledger.complete({ month: '2024-03', executionArn: arn('good'), runId: 'good', now: new Date('2024-04-01T01:00:00Z'), stats: { manifestKey: 'm', fileCount: 0, rows: 0, bytes: 0, files: [] } });
    expect(await checkMissedMonth(deps(APRIL_2))).toMatchObject({ state: 'succeeded', outcome: 'ok' });
    expect(sent).toEqual([]);
  });

  it('sends at most one email per missed month per day, even from two checks at once, and again the next day', async () => {
    const { sent, deps } = await setUp();
    const [a, b] = await Promise.all([checkMissedMonth(deps(APRIL_2)), checkMissedMonth(deps(APRIL_2))]);
    expect([a.outcome, b.outcome].sort()).toEqual(['already-emailed', 'emailed']);
    // 23:30 in Johannesburg is still 2 April there.
    expect(await checkMissedMonth(deps(new Date('2024-04-02T21:30:00Z')))).toMatchObject({ day: '2024-04-02', outcome: 'already-emailed' });
    expect(sent).toHaveLength(1);
    expect(await checkMissedMonth(deps(new Date('2024-04-02T22:30:00Z')))).toMatchObject({ day: '2024-04-03', outcome: 'emailed' });
    expect(sent).toHaveLength(2);
  });

  it('releases the day\'s claim when the email cannot be sent, so the next check sends it', async () => {
    const { sent, deps, failNextSends } = await setUp();
    failNextSends(1);
    await expect(checkMissedMonth(deps(APRIL_2))).rejects.toThrow('SNS is down');
    expect(await checkMissedMonth(deps(APRIL_2))).toMatchObject({ outcome: 'emailed' });
    expect(sent).toHaveLength(1);
  });
});
