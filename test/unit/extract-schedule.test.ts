/**
 * When an extract's monthly schedule runs (functions/core/extract-schedule.ts), by the calendar and
 * clock of its time zone, across month lengths and daylight-saving changes; and the instant a zone's
 * clock shows a time (core/month.ts `instantAt`) that it rests on.
 */
import { firstRunIn, readMonthlyRun } from '../../functions/core/extract-schedule';
import { instantAt, parseMonth, wallClockIn } from '../../functions/core/month';

const at = (cron: string, timeZone: string, month: string) => firstRunIn({ cron, timeZone }, parseMonth(month)).toISOString();

describe('firstRunIn', () => {
  it('is the day and time of the cron in the extract\'s time zone', () => {
    // Johannesburg is UTC+2 all year.
    expect(at('cron(0 2 1 * ? *)', 'Africa/Johannesburg', '2024-04')).toBe('2024-04-01T00:00:00.000Z');
    // London: GMT in January, BST (UTC+1) from the last Sunday of March.
    expect(at('cron(30 6 3 * ? *)', 'Europe/London', '2024-01')).toBe('2024-01-03T06:30:00.000Z');
    expect(at('cron(30 6 3 * ? *)', 'Europe/London', '2024-04')).toBe('2024-04-03T05:30:00.000Z');
    // New York in July: EDT, UTC-4.
    expect(at('cron(0 2 1 * ? *)', 'America/New_York', '2024-07')).toBe('2024-07-01T06:00:00.000Z');
    // East of UTC, a run early on the 1st is the last day of the month before in UTC.
    expect(at('cron(0 2 1 * ? *)', 'Australia/Sydney', '2024-07')).toBe('2024-06-30T16:00:00.000Z');
  });

  it('L is the month\'s last day by calendar: 29 February in a leap year, 28 otherwise, 30 and 31', () => {
    const last = (month: string) => at('cron(0 2 L * ? *)', 'Africa/Johannesburg', month);
    expect(last('2024-02')).toBe('2024-02-29T00:00:00.000Z');
    expect(last('2025-02')).toBe('2025-02-28T00:00:00.000Z');
    expect(last('2100-02')).toBe('2100-02-28T00:00:00.000Z');
    expect(last('2024-04')).toBe('2024-04-30T00:00:00.000Z');
    expect(last('2024-12')).toBe('2024-12-31T00:00:00.000Z');
  });

  it('reads the time on the day of a daylight-saving change by the clock of that day', () => {
    // London's clocks go forward at 01:00 GMT on 31 March 2024 and back at 01:00 GMT on 27 October.
    expect(at('cron(30 6 L * ? *)', 'Europe/London', '2024-03')).toBe('2024-03-31T05:30:00.000Z');
    expect(at('cron(30 6 27 * ? *)', 'Europe/London', '2024-10')).toBe('2024-10-27T06:30:00.000Z');
  });

  it('refuses a schedule that is not monthly rather than guess', () => {
    expect(() => at('cron(0 2 ? * MON *)', 'Europe/London', '2024-04')).toThrow(/not a monthly schedule: schedule\.cron: day-of-month \?/);
  });
});

describe('readMonthlyRun', () => {
  it('reads the minute, hour and day of month, L kept as L', () => {
    expect(readMonthlyRun('cron(30 6 3 * ? *)')).toEqual({ run: { minute: 30, hour: 6, dayOfMonth: 3 } });
    expect(readMonthlyRun('cron(0 23 L * ? *)')).toEqual({ run: { minute: 0, hour: 23, dayOfMonth: 'L' } });
  });
});

describe('instantAt', () => {
  it('is the inverse of wallClockIn', () => {
    const instant = instantAt({ year: 2024, month: 4, day: 3 }, 6, 30, 'Europe/London');
    expect(wallClockIn(instant, 'Europe/London')).toEqual({ year: 2024, month: 4, day: 3, hour: 6, minute: 30, second: 0 });
  });

  it('puts a time the clocks skip after the jump, and a time they show twice at its later showing', () => {
    // 01:30 on 31 March 2024 does not exist in London (01:00 GMT became 02:00 BST): 02:30 BST.
    expect(instantAt({ year: 2024, month: 3, day: 31 }, 1, 30, 'Europe/London').toISOString()).toBe('2024-03-31T01:30:00.000Z');
    // 01:30 on 27 October 2024 is shown twice in London (BST, then GMT): the GMT one.
    expect(instantAt({ year: 2024, month: 10, day: 27 }, 1, 30, 'Europe/London').toISOString()).toBe('2024-10-27T01:30:00.000Z');
    // The same east of UTC: Sydney skips 02:00-03:00 on 6 October 2024 and repeats 02:00-03:00 on 7 April.
    expect(instantAt({ year: 2024, month: 10, day: 6 }, 2, 30, 'Australia/Sydney').toISOString()).toBe('2024-10-05T16:30:00.000Z');
    expect(instantAt({ year: 2024, month: 4, day: 7 }, 2, 30, 'Australia/Sydney').toISOString()).toBe('2024-04-06T16:30:00.000Z');
  });
});
