/**
 * The missed-month check (an SLA / freshness alert): once the last complete month in the stage's
 * time zone should have been extracted, it must be SUCCEEDED in the run ledger. If it is not (it
 * never ran, its last run failed, or its run is RUNNING past its lease, so its holder died), support
 * is emailed the month, its last attempt and outcome, and the exact re-run input. The check runs
 * daily; a conditional write per month and day (`MissedMonthNotices.claim`) makes it one email per
 * missed month per day, however many checks run, and none once the month succeeds.
 */
import { executionConsoleUrl, stateMachineConsoleUrl, MAX_SUBJECT_LENGTH } from './failure-message';
import { calendarDateIn, formatCalendarDate, formatMonth, lastCompleteMonth } from './month';
import type { AlertSender } from './notify-failure';
import { leaseExpired, type MonthRecord, type RunLedger } from './run-ledger';

/** The once-a-day rule, in storage: a claim per (month, day), taken by one check only. */
export interface MissedMonthNotices {
  /** Records that the email about `month` is being sent on `day` (`YYYY-MM-DD`); false if one already was. */
  claim(month: string, day: string, now: Date): Promise<boolean>;
  /** Undoes a claim whose email could not be sent, so the next check may send it. */
  release(month: string, day: string): Promise<void>;
}

export interface MissedMonthDeps {
  readonly ledger: Pick<RunLedger, 'get'>;
  readonly notices: MissedMonthNotices;
  readonly alerts: AlertSender;
  readonly stage: string;
  readonly region: string;
  readonly timeZone: string;
  readonly stateMachineArn: string;
  readonly now: Date;
}

/** What the ledger says about the month. `in-progress`: RUNNING within its lease, which may still succeed. */
export type MonthState =
  | { readonly kind: 'succeeded'; readonly record: MonthRecord }
  | { readonly kind: 'in-progress'; readonly record: MonthRecord }
  | { readonly kind: 'never-ran' }
  | { readonly kind: 'failed'; readonly record: MonthRecord }
  | { readonly kind: 'lease-expired'; readonly record: MonthRecord };

export type MissedKind = Extract<MonthState['kind'], 'never-ran' | 'failed' | 'lease-expired'>;

export interface CheckResult {
  /** `YYYY-MM`: the last complete month. */
  readonly month: string;
  /** The calendar day of the check in the stage's time zone, `YYYY-MM-DD`. */
  readonly day: string;
  readonly state: MonthState['kind'];
  /** `ok`: succeeded or still in progress; `emailed`; `already-emailed`: another check sent today's. */
  readonly outcome: 'ok' | 'emailed' | 'already-emailed';
  readonly rerunInput: { readonly month: string };
  readonly subject?: string;
}

export function monthState(record: MonthRecord | undefined, now: Date): MonthState {
  if (record === undefined) return { kind: 'never-ran' };
  switch (record.status) {
    case 'SUCCEEDED':
      return { kind: 'succeeded', record };
    case 'FAILED':
      return { kind: 'failed', record };
    case 'RUNNING':
      return leaseExpired(record, now) ? { kind: 'lease-expired', record } : { kind: 'in-progress', record };
  }
}

export async function checkMissedMonth(deps: MissedMonthDeps): Promise<CheckResult> {
  const month = formatMonth(lastCompleteMonth(deps.now, deps.timeZone));
  const day = formatCalendarDate(calendarDateIn(deps.now, deps.timeZone));
  const state = monthState(await deps.ledger.get(month), deps.now);
  const rerunInput = { month };
  if (state.kind === 'succeeded' || state.kind === 'in-progress') return { month, day, state: state.kind, outcome: 'ok', rerunInput };
  const message = { stage: deps.stage, region: deps.region, timeZone: deps.timeZone, stateMachineArn: deps.stateMachineArn, month, day, state };
  const subject = missedMonthSubject(message);
  if (!(await deps.notices.claim(month, day, deps.now))) return { month, day, state: state.kind, outcome: 'already-emailed', rerunInput, subject };
  try {
    await deps.alerts.send(subject, missedMonthBody(message));
  } catch (error) {
    // Unclaimed, the next check (or Scheduler's retry of this one) sends it.
    await deps.notices.release(month, day);
    throw error;
  }
  return { month, day, state: state.kind, outcome: 'emailed', rerunInput, subject };
}

export interface MissedMonthMessage {
  readonly stage: string;
  readonly region: string;
  readonly timeZone: string;
  readonly stateMachineArn: string;
  readonly month: string;
  readonly day: string;
  readonly state: Extract<MonthState, { kind: MissedKind }>;
}

const SUMMARY: Record<MissedKind, string> = {
  'never-ran': 'never ran',
  failed: 'failed',
  'lease-expired': 'stuck RUNNING past its lease',
};

export function missedMonthSubject(message: MissedMonthMessage): string {
  const subject = `[${message.stage}] Loan extract ${message.month} not published: ${SUMMARY[message.state.kind]}`;
  return subject.length <= MAX_SUBJECT_LENGTH ? subject : `${subject.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

export function missedMonthBody(message: MissedMonthMessage): string {
  const { month, state } = message;
  const input = JSON.stringify({ month });
  const machineName = message.stateMachineArn.split(':').pop();
  const lines = [
    `The monthly loan extract for ${month} has not succeeded.`,
    '',
    `Stage:         ${message.stage}`,
    `Month:         ${month} (the last complete month in ${message.timeZone} on ${message.day})`,
    ...lastAttemptLines(state, message.region),
    '',
    'How to re-run',
    `  Step Functions console > State machines > ${machineName} > Start execution, with the input:`,
    '',
    `    ${input}`,
    '',
    `  ${stateMachineConsoleUrl(message.region, message.stateMachineArn)}`,
    `  or: aws stepfunctions start-execution --state-machine-arn ${message.stateMachineArn} --input '${input}'`,
    `  or: npm run rerun -- --stage ${message.stage} --month ${month}`,
    '',
    `This check runs daily and sends at most one email a day about ${month}, until it succeeds.`,
  ];
  return `${lines.join('\n')}\n`;
}

function lastAttemptLines(state: MissedMonthMessage['state'], region: string): string[] {
  if (state.kind === 'never-ran') {
    return [
      'Last attempt:  none: the run ledger has no record of the month. The schedule did not start it, or',
      '               its execution failed before taking the month (see the schedule alarms and failure emails).',
    ];
  }
  const { record } = state;
  const attempt = [
    `Last attempt:  #${record.attempt}${record.force ? ' (forced)' : ''}, started ${record.startedAt}`,
    `Execution:     ${record.executionArn}`,
    `               ${executionConsoleUrl(region, record.executionArn)}`,
  ];
  if (state.kind === 'lease-expired') {
    return [
      ...attempt,
      `Outcome:       still RUNNING in the ledger, but its lease ran out at ${record.leaseExpiresAt}: the execution`,
      '               died (timed out, aborted) without freeing the month. A re-run takes it over and settles any',
      '               unfinished publish first.',
    ];
  }
  const failure = record.lastError;
  return [
    ...attempt,
    `Outcome:       FAILED${record.finishedAt ? ` at ${record.finishedAt}` : ''}`,
    ...(failure ? [`Failed step:   ${failure.failedStep}`, `Error:         ${failure.error}`, `Cause:         ${failure.cause}`] : []),
  ];
}
