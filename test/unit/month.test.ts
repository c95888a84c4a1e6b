import { InvalidInputError } from '../../functions/core/errors';
import {
  addMonths,
  calendarDateIn,
  lastCompleteMonth,
  monthWindow,
  parseMonth,
  resolveExtractMonth,
} from '../../functions/core/month';

const JOBURG = 'Africa/Johannesburg';

describe('monthWindow', () => {
  it('spans M-2 to the first day of M+1 by calendar', () => {
    expect(monthWindow(parseMonth('2024-03'))).toEqual({
      month: '2024-03',
      windowStart: '2024-01-01',
      monthStart: '2024-03-01',
      windowEnd: '2024-04-01',
      fileDate: '20240331',
      year: '2024',
      monthOfYear: '03',
    });
  });

  it('crosses the year boundary', () => {
    const w = monthWindow(parseMonth('2025-01'));
    expect([w.windowStart, w.monthStart, w.windowEnd]).toEqual(['2024-11-01', '2025-01-01', '2025-02-01']);
    expect(monthWindow(parseMonth('2024-12')).windowEnd).toBe('2025-01-01');
  });

  it('names files after the last calendar day, leap Februaries included', () => {
    expect(monthWindow(parseMonth('2024-02')).fileDate).toBe('20240229');
    expect(monthWindow(parseMonth('2023-02')).fileDate).toBe('20230228');
    expect(monthWindow(parseMonth('2000-02')).fileDate).toBe('20000229');
    expect(monthWindow(parseMonth('2100-02')).fileDate).toBe('21000228');
    expect(monthWindow(parseMonth('2024-04')).fileDate).toBe('20240430');
  });
});

describe('parseMonth', () => {
  it.each([
    ['2024-13', /month 13/],
    ['2024-00', /month 00/],
    ['March', /YYYY-MM/],
    ['2024-3', /YYYY-MM/],
    [' 2024-03', /YYYY-MM/],
    ['2024-03-01', /YYYY-MM/],
  ])('refuses %p with a cause naming the field', (text, reason) => {
    const error = captureError(() => parseMonth(text));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toMatch(/^month: /);
    expect(error.message).toMatch(reason);
  });

  it('refuses a non-string month', () => {
    expect(() => parseMonth(202403)).toThrow(/month: must be a string/);
  });
});

describe('the default month in the stage time zone', () => {
  it('is already the previous month at 00:30 on the 1st in Johannesburg while UTC is still the last day', () => {
    // 2024-03-31T22:30Z is 2024-04-01T00:30 in Johannesburg (UTC+2): March is complete there.
    expect(lastCompleteMonth(new Date('2024-03-31T22:30:00Z'), JOBURG)).toEqual({ year: 2024, month: 3 });
    expect(lastCompleteMonth(new Date('2024-03-31T21:30:00Z'), JOBURG)).toEqual({ year: 2024, month: 2 });
  });

  it('goes from January back to December of the previous year', () => {
    expect(lastCompleteMonth(new Date('2025-01-01T00:00:00Z'), JOBURG)).toEqual({ year: 2024, month: 12 });
  });

  it('reads the calendar date in the zone, not the host', () => {
    expect(calendarDateIn(new Date('2024-02-29T23:00:00Z'), JOBURG)).toEqual({ year: 2024, month: 3, day: 1 });
    expect(() => calendarDateIn(new Date(), 'Mars/Olympus')).toThrow(/not a valid IANA time zone/);
  });
});

describe('resolveExtractMonth', () => {
  const now = new Date('2024-04-15T08:00:00Z');

  it('defaults to the last complete month', () => {
    expect(resolveExtractMonth(undefined, now, JOBURG)).toEqual({ year: 2024, month: 3 });
  });

  it('accepts a past month', () => {
    expect(resolveExtractMonth('2023-11', now, JOBURG)).toEqual({ year: 2023, month: 11 });
  });

  it('refuses the month in progress and future months', () => {
    expect(() => resolveExtractMonth('2024-04', now, JOBURG)).toThrow(/month: 2024-04 is not complete yet in Africa\/Johannesburg; the latest complete month is 2024-03/);
    expect(() => resolveExtractMonth('2030-01', now, JOBURG)).toThrow(InvalidInputError);
  });
});

describe('addMonths', () => {
  it('moves by calendar months across years both ways', () => {
    expect(addMonths({ year: 2024, month: 1 }, -2)).toEqual({ year: 2023, month: 11 });
    expect(addMonths({ year: 2024, month: 11 }, 3)).toEqual({ year: 2025, month: 2 });
    expect(addMonths({ year: 2024, month: 12 }, -24)).toEqual({ year: 2022, month: 12 });
  });
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
