/**
 * The extract month and its 3-month window, by calendar, never by 30-day steps.
 * Everything here works on plain year/month integers so that no host time zone can shift a date;
 * "now" is turned into a calendar date in the stage's time zone exactly once, in `calendarDateIn`.
 */
import { z } from 'zod';
import { InvalidInputError } from './errors';

export interface ExtractMonth {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
}

const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

/** The month's window and file-naming parts, as handed between states (computed by `monthWindow`). */
export const monthWindowSchema = z
  .object({
    /** M as `YYYY-MM`, the value of the `month` column. */
    month: z.string(),
    /** First day of M-2 (inclusive), `YYYY-MM-DD`. */
    windowStart: isoDay,
    /** First day of M (inclusive), `YYYY-MM-DD`. */
    monthStart: isoDay,
    /** First day of M+1 (exclusive end of both M and the window), `YYYY-MM-DD`. */
    windowEnd: isoDay,
    /** Last calendar day of M as `YYYYMMDD`, used in file names. */
    fileDate: z.string().regex(/^\d{8}$/, 'must be YYYYMMDD'),
    year: z.string().regex(/^\d{4}$/, 'must be four digits'),
    /** Two digits. */
    monthOfYear: z.string().regex(/^\d{2}$/, 'must be two digits'),
  })
  .readonly();

export type MonthWindow = z.infer<typeof monthWindowSchema>;

const MONTH_PATTERN = /^(\d{4})-(\d{2})$/;

/** Parses `YYYY-MM`; anything else is an InvalidInput naming the `month` field. */
export function parseMonth(text: unknown): ExtractMonth {
  if (typeof text !== 'string') {
    throw new InvalidInputError('month', `must be a string "YYYY-MM", got ${describe(text)}`);
  }
  const match = MONTH_PATTERN.exec(text);
  if (!match) {
    throw new InvalidInputError('month', `must look like "YYYY-MM" (for example "2024-03"), got "${text}"`);
  }
  const year = Number(match[1]);
  const month = Number(match[2]);
  if (month < 1 || month > 12) {
    throw new InvalidInputError('month', `"${text}" has month ${match[2]}; months run from 01 to 12`);
  }
  if (year < 1900) {
    throw new InvalidInputError('month', `"${text}" is before 1900; no loan data is that old`);
  }
  return { year, month };
}

export function formatMonth(m: ExtractMonth): string {
  return `${pad(m.year, 4)}-${pad(m.month, 2)}`;
}

/** Adds (or, with a negative count, subtracts) whole calendar months. */
export function addMonths(m: ExtractMonth, count: number): ExtractMonth {
  const index = m.year * 12 + (m.month - 1) + count;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
}

export function compareMonths(a: ExtractMonth, b: ExtractMonth): number {
  return a.year * 12 + a.month - (b.year * 12 + b.month);
}

export function daysInMonth(m: ExtractMonth): number {
  if (m.month === 2) {
    const leap = (m.year % 4 === 0 && m.year % 100 !== 0) || m.year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(m.month) ? 30 : 31;
}

export function monthWindow(m: ExtractMonth): MonthWindow {
  const firstDay = (x: ExtractMonth) => `${formatMonth(x)}-01`;
  return {
    month: formatMonth(m),
    windowStart: firstDay(addMonths(m, -2)),
    monthStart: firstDay(m),
    windowEnd: firstDay(addMonths(m, 1)),
    fileDate: `${pad(m.year, 4)}${pad(m.month, 2)}${pad(daysInMonth(m), 2)}`,
    year: pad(m.year, 4),
    monthOfYear: pad(m.month, 2),
  };
}

export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** `YYYY-MM-DD` */
export function formatCalendarDate(date: CalendarDate): string {
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}

/** Parses a real calendar date `YYYY-MM-DD`; anything else is an InvalidInput naming `field`. */
export function parseCalendarDate(text: string, field: string): CalendarDate {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const date = match ? { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) } : undefined;
  if (!date || date.month < 1 || date.month > 12 || date.day < 1 || date.day > daysInMonth(date)) {
    throw new InvalidInputError(field, `must be a calendar date "YYYY-MM-DD", got "${text}"`);
  }
  return date;
}

/** The calendar date that `instant` falls on in `timeZone` (an IANA name such as `Africa/Johannesburg`). */
export function calendarDateIn(instant: Date, timeZone: string): CalendarDate {
  const { year, month, day } = wallClockIn(instant, timeZone);
  return { year, month, day };
}

/** A date and time of day as a clock in some time zone shows it. */
export interface WallClock extends CalendarDate {
  /** 0..23 */
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** What a clock in `timeZone` shows at `instant`. */
export function wallClockIn(instant: Date, timeZone: string): WallClock {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(instant);
  } catch {
    throw new Error(`time zone "${timeZone}" is not a valid IANA time zone name`);
  }
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** `YYYY-MM-DD HH:MM` */
export function formatWallClock(clock: WallClock): string {
  return `${formatCalendarDate(clock)} ${pad(clock.hour, 2)}:${pad(clock.minute, 2)}`;
}

/** `instant` as a clock in `timeZone` shows it, with the zone: `YYYY-MM-DD HH:MM Africa/Johannesburg`. */
export function formatInstantIn(instant: Date, timeZone: string): string {
  return `${formatWallClock(wallClockIn(instant, timeZone))} ${timeZone}`;
}

/**
 * The instant a clock in `timeZone` shows `date` at `hour`:`minute`: the inverse of `wallClockIn`.
 * The zone's offset is read at the instant itself (a second pass, since the offset at the first
 * guess can be the other side of a daylight-saving change). A time skipped by a change (02:30 when
 * clocks jump from 02:00 to 03:00) comes out after the jump; a time shown twice, its later showing.
 */
export function instantAt(date: CalendarDate, hour: number, minute: number, timeZone: string): Date {
  // The clock reading as if it were UTC; its distance from the real instant is the zone's offset.
  const reading = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  const offsetAt = (instant: number) => {
    const c = wallClockIn(new Date(instant), timeZone);
    return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - instant;
  };
  const guess = reading - offsetAt(reading);
  return new Date(reading - offsetAt(guess));
}

/** The last calendar month that has fully ended at `now` in `timeZone`: the default extract month. */
export function lastCompleteMonth(now: Date, timeZone: string): ExtractMonth {
  const today = calendarDateIn(now, timeZone);
  return addMonths({ year: today.year, month: today.month }, -1);
}

/**
 * Resolves the month a run is for: the given text, or the last complete month when absent.
 * A month that has not ended yet in the stage's time zone is refused, since its data is still moving.
 */
export function resolveExtractMonth(text: unknown, now: Date, timeZone: string): ExtractMonth {
  const latest = lastCompleteMonth(now, timeZone);
  if (text === undefined) return latest;
  const requested = parseMonth(text);
  if (compareMonths(requested, latest) > 0) {
    throw new InvalidInputError(
      'month',
      `${formatMonth(requested)} is not complete yet in ${timeZone}; the latest complete month is ${formatMonth(latest)}`,
    );
  }
  return requested;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value}"`;
  return typeof value === 'object' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}
