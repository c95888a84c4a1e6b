/**
 * An extract's schedule (the definition's `schedule`): EventBridge Scheduler's cron, in the
 * extract's time zone. The pipeline is monthly, so the only schedules accepted are one run a month,
 * on a day every month has (1-28, or L for the last), at one time of day. The one reading of the
 * cron: the definition check refuses what `monthlyRunProblems` finds, and the missed-month check
 * learns when the extract runs from `firstRunIn`, both through `readMonthlyRun`.
 */
import { daysInMonth, instantAt, type ExtractMonth } from './month';

export interface ExtractSchedule {
  /** `cron(minutes hours day-of-month month day-of-week year)` */
  readonly cron: string;
  /** IANA time zone the cron fires in. */
  readonly timeZone: string;
}

/** When in each month the extract runs, in its time zone. */
export interface MonthlyRun {
  readonly minute: number;
  readonly hour: number;
  /** 1..28, or `L`: the month's last day. */
  readonly dayOfMonth: number | 'L';
}

const CRON = /^cron\(([^()]+)\)$/;
const NUMBER = /^\d{1,2}$/;

/** The cron read as a monthly run, or every reason it is not one (each naming `schedule.cron`). */
export function readMonthlyRun(cron: string): { readonly run: MonthlyRun } | { readonly problems: readonly string[] } {
  const match = CRON.exec(cron);
  const fields = match ? match[1]!.trim().split(/\s+/) : [];
  if (fields.length !== 6) {
    return { problems: [`schedule.cron: ${JSON.stringify(cron)} is not cron(minutes hours day-of-month month day-of-week year)`] };
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string];
  const problems: string[] = [];
  if (!NUMBER.test(minutes) || !NUMBER.test(hours)) {
    problems.push(`schedule.cron: minutes and hours must each be one number, not ${minutes} and ${hours}: the extract runs once at a set time`);
  } else if (Number(minutes) > 59 || Number(hours) > 23) {
    problems.push(`schedule.cron: ${hours}:${minutes} is not a time of day (minutes 0-59, hours 0-23)`);
  }
  if (dayOfMonth !== 'L' && !NUMBER.test(dayOfMonth)) {
    problems.push(`schedule.cron: day-of-month ${dayOfMonth} must be one day, 1-28 or L: the extract runs once a month, on a day of the month`);
  } else if (dayOfMonth !== 'L' && (Number(dayOfMonth) < 1 || Number(dayOfMonth) > 28)) {
    // 29-31 are not in every month: those months would have no run (L is the last day).
    problems.push(`schedule.cron: day-of-month ${dayOfMonth} is not in every month; use 1-28 or L, or the extract misses months`);
  }
  if (dayOfWeek !== '?') {
    problems.push(`schedule.cron: day-of-week must be ?, not ${dayOfWeek}: the extract runs on a day of the month, not of the week`);
  }
  if (month !== '*') {
    problems.push(`schedule.cron: month must be *, not ${month}: the extract runs every month`);
  }
  if (year !== '*') {
    problems.push(`schedule.cron: year must be *, not ${year}: the extract runs every year, without an end`);
  }
  if (problems.length > 0) return { problems };
  return { run: { minute: Number(minutes), hour: Number(hours), dayOfMonth: dayOfMonth === 'L' ? 'L' : Number(dayOfMonth) } };
}

/** Every problem of a schedule: its cron (`readMonthlyRun`) and its time zone. */
export function scheduleProblems(schedule: ExtractSchedule): string[] {
  const read = readMonthlyRun(schedule.cron);
  const problems = 'problems' in read ? [...read.problems] : [];
  let canonical: string | undefined;
  try {
    canonical = new Intl.DateTimeFormat('en', { timeZone: schedule.timeZone }).resolvedOptions().timeZone;
  } catch {
    problems.push(`schedule.timeZone: ${JSON.stringify(schedule.timeZone)} is not an IANA time zone`);
  }
  // Intl ignores case; the Scheduler and PostgreSQL do not.
  if (canonical !== undefined && canonical !== schedule.timeZone && canonical.toLowerCase() === schedule.timeZone.toLowerCase()) {
    problems.push(`schedule.timeZone: ${JSON.stringify(schedule.timeZone)} must be spelled as IANA spells it: ${canonical}`);
  }
  return problems;
}

/**
 * When the schedule first (and only) runs in `month`: its day (L: the month's last) at its time, by
 * the calendar and clock of its time zone. The schedule is a parsed definition's, so it is valid.
 */
export function firstRunIn(schedule: ExtractSchedule, month: ExtractMonth): Date {
  const read = readMonthlyRun(schedule.cron);
  if ('problems' in read) throw new Error(`not a monthly schedule: ${read.problems.join('; ')}`);
  const { run } = read;
  const day = run.dayOfMonth === 'L' ? daysInMonth(month) : run.dayOfMonth;
  return instantAt({ year: month.year, month: month.month, day }, run.hour, run.minute, schedule.timeZone);
}
