/**
 * The missed-month check (an SLA / freshness alert), for every deployed extract: once a month is
 * due (its schedule's run in the month after, plus MISSED_MONTH_GRACE_HOURS, by the calendar and
 * clock of the extract's time zone), it must be SUCCEEDED in the run ledger. The check looks at the
 * latest month due: the last complete month, or until that one is due, the month before it. If it
 * is not SUCCEEDED (it never ran, its last run failed, or its run is RUNNING past its lease, so its
 * holder died), support and the extract's recipients are emailed the extract, the month, its
 * last attempt and outcome, and the exact re-run input. The check runs daily; a conditional write
 * per extract, month and day (`MissedMonthNotices.claim`) makes it one email per missed extract
 * month per day, however many checks run, and none once the month succeeds.
 */
import type { ExtractDefinitions } from './deployed-extracts';
import type { ExtractDefinition } from './extract-definition';
import { firstRunIn, type ExtractSchedule } from './extract-schedule';
import { executionConsoleUrl, stateMachineConsoleUrl, MAX_SUBJECT_LENGTH } from './failure-message';
import { addMonths, calendarDateIn, formatCalendarDate, formatInstantIn, formatMonth, lastCompleteMonth, type ExtractMonth } from './month';
import type { AlertSender } from './notify-failure';
import { leaseExpired, type MonthRecord, type RunLedger } from './run-ledger';

/**
 * How long after its scheduled run a month may still be unfinished before it counts as missed: the
 * run's time to finish (the loan extract starts at 02:00 and was always first checked at 08:00).
 */
export const MISSED_MONTH_GRACE_HOURS = 6;

/** When `month` of an extract is due: its schedule's first run in the month after, plus the grace. */
export function monthDueAt(schedule: ExtractSchedule, month: ExtractMonth): Date {
  return new Date(firstRunIn(schedule, addMonths(month, 1)).getTime() + MISSED_MONTH_GRACE_HOURS * 3_600_000);
}

export interface DueMonths {
  /** The latest month due at `now`, and since when. */
  readonly month: ExtractMonth;
  readonly dueAt: Date;
  /** The complete months after it, not due yet (newest first), each with when it will be. */
  readonly notDue: readonly { readonly month: ExtractMonth; readonly dueAt: Date }[];
}

/**
 * The latest month due at `now`, walking back from the last complete month in the schedule's time
 * zone. At most two are passed over: month M runs in M+1, on its last day at the latest, so M is due
 * (with the grace) by early on the 1st of M+2.
 */
export function dueMonths(schedule: ExtractSchedule, now: Date): DueMonths {
  const notDue: { month: ExtractMonth; dueAt: Date }[] = [];
  for (let month = lastCompleteMonth(now, schedule.timeZone); ; month = addMonths(month, -1)) {
    const dueAt = monthDueAt(schedule, month);
    if (dueAt.getTime() <= now.getTime()) return { month, dueAt, notDue };
    notDue.push({ month, dueAt });
  }
}

/** The once-a-day rule, in storage: a claim per (extract, month, day), taken by one check only. */
export interface MissedMonthNotices {
  /** Records that the email about the extract's `month` is being sent on `day` (`YYYY-MM-DD`); false if one already was. */
  claim(extractId: string, month: string, day: string, now: Date): Promise<boolean>;
  /** Undoes a claim whose email could not be sent, so the next check may send it. */
  release(extractId: string, month: string, day: string): Promise<void>;
}

export interface MissedMonthDeps {
  readonly ledger: Pick<RunLedger, 'get'>;
  readonly notices: MissedMonthNotices;
  readonly alerts: AlertSender;
  readonly stage: string;
  readonly region: string;
  readonly stateMachineArn: string;
  readonly now: Date;
}

export interface MissedMonthsDeps extends MissedMonthDeps {
  /** Every deployed extract's id (env EXTRACT_IDS). */
  readonly extractIds: readonly string[];
  /** Their deployed definitions, for each one's schedule and time zone. */
  readonly extracts: ExtractDefinitions;
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
  readonly extract: string;
  /** `YYYY-MM`: the latest month due (`dueMonths`), the one checked. */
  readonly month: string;
  /** When it became due (ISO 8601). */
  readonly dueAt: string;
  /** Later complete months not due yet, newest first (ISO 8601 `dueAt`): not checked, never emailed. */
  readonly notDue: readonly { readonly month: string; readonly dueAt: string }[];
  /** The calendar day of the check in the extract's time zone, `YYYY-MM-DD`. */
  readonly day: string;
  readonly state: MonthState['kind'];
  /** `ok`: succeeded or still in progress; `emailed`; `already-emailed`: another check sent today's. */
  readonly outcome: 'ok' | 'emailed' | 'already-emailed';
  readonly rerunInput: { readonly extract: string; readonly month: string };
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

/** Each extract by itself: one whose definition cannot be read or whose email fails does not keep the others from being checked. */
export async function checkMissedMonths(deps: MissedMonthsDeps): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const failures: string[] = [];
  for (const extractId of deps.extractIds) {
    try {
      results.push(await checkMissedMonth(await deps.extracts(extractId), deps));
    } catch (error) {
      failures.push(`${extractId}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
  }
  // Thrown after the others were checked, so the failed check alarms and Scheduler's retry tries again
  // (the claims keep the extracts already emailed today from being emailed twice).
  if (failures.length > 0) throw new Error(`The missed-month check failed for ${failures.length} extract(s): ${failures.join('; ')}`);
  return results;
}

export async function checkMissedMonth(extract: Pick<ExtractDefinition, 'id' | 'schedule'>, deps: MissedMonthDeps): Promise<CheckResult> {
  const { timeZone } = extract.schedule;
  const due = dueMonths(extract.schedule, deps.now);
  const month = formatMonth(due.month);
  const day = formatCalendarDate(calendarDateIn(deps.now, timeZone));
  const state = monthState(await deps.ledger.get(extract.id, month), deps.now);
  const rerunInput = { extract: extract.id, month };
  const notDue = due.notDue.map((m) => ({ month: formatMonth(m.month), dueAt: m.dueAt.toISOString() }));
  const result = { extract: extract.id, month, dueAt: due.dueAt.toISOString(), notDue, day, state: state.kind, rerunInput };
  if (state.kind === 'succeeded' || state.kind === 'in-progress') return { ...result, outcome: 'ok' };
  const message = { stage: deps.stage, region: deps.region, extract: extract.id, timeZone, stateMachineArn: deps.stateMachineArn, month, dueAt: due.dueAt, day, state };
  const subject = missedMonthSubject(message);
  if (!(await deps.notices.claim(extract.id, month, day, deps.now))) return { ...result, outcome: 'already-emailed', subject };
  try {
    await deps.alerts.send(subject, missedMonthBody(message), { extract: extract.id });
  } catch (error) {
    // Unclaimed, the next check (or Scheduler's retry of this one) sends it.
    await deps.notices.release(extract.id, month, day);
    throw error;
  }
  return { ...result, outcome: 'emailed', subject };
}

export interface MissedMonthMessage {
  readonly stage: string;
  readonly extract: string;
  readonly region: string;
  readonly timeZone: string;
  readonly stateMachineArn: string;
  readonly month: string;
  /** When the month became due. */
  readonly dueAt: Date;
  readonly day: string;
  readonly state: Extract<MonthState, { kind: MissedKind }>;
}

const SUMMARY: Record<MissedKind, string> = {
  'never-ran': 'never ran',
  failed: 'failed',
  'lease-expired': 'stuck RUNNING past its lease',
};

export function missedMonthSubject(message: MissedMonthMessage): string {
  const subject = `[${message.stage}] ${message.extract} ${message.month} not published: ${SUMMARY[message.state.kind]}`;
  return subject.length <= MAX_SUBJECT_LENGTH ? subject : `${subject.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

export function missedMonthBody(message: MissedMonthMessage): string {
  const { month, state } = message;
  const input = JSON.stringify({ extract: message.extract, month });
  const machineName = message.stateMachineArn.split(':').pop();
  const lines = [
    `The monthly extract ${message.extract} for ${month} has not succeeded.`,
    '',
    `Stage:         ${message.stage}`,
    `Extract:       ${message.extract}`,
    `Month:         ${month} (due since ${formatInstantIn(message.dueAt, message.timeZone)}, ${MISSED_MONTH_GRACE_HOURS} hours after its scheduled run; checked on ${message.day})`,
    ...lastAttemptLines(state, message.region),
    '',
    'How to re-run',
    `  Step Functions console > State machines > ${machineName} > Start execution, with the input:`,
    '',
    `    ${input}`,
    '',
    `  ${stateMachineConsoleUrl(message.region, message.stateMachineArn)}`,
    `  or: aws stepfunctions start-execution --state-machine-arn ${message.stateMachineArn} --input '${input}'`,
    `  or: npm run rerun -- --stage ${message.stage} --extract ${message.extract} --month ${month}`,
    '',
    `This check runs daily and sends at most one email a day about ${message.extract} ${month}, until it succeeds.`,
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
