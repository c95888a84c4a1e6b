import { completeMonthRange, monthRangeBounds, MAX_RANGE_MONTHS } from '../../functions/core/month-range';

const TZ = 'Africa/Johannesburg';
/** 1 July 2024, 01:00 in Johannesburg: June is complete, July is not. */
const NOW = new Date('2024-06-30T23:00:00Z');

describe('a backfill range', () => {
  it('is every month from --from to --to, inclusive, across a year end', () => {
    expect(completeMonthRange('2023-11', '2024-02', NOW, TZ)).toEqual(['2023-11', '2023-12', '2024-01', '2024-02']);
    expect(completeMonthRange('2024-06', '2024-06', NOW, TZ)).toEqual(['2024-06']);
  });

  it.each([
    [undefined, '2024-06', 'from: is required, for example --from 2024-01'],
    ['2024-01', undefined, 'to: is required, for example --to 2024-06'],
    ['2024-13', '2024-06', 'from: "2024-13" has month 13; months run from 01 to 12'],
    ['2024-01', 'June', 'to: must look like "YYYY-MM" (for example "2024-03"), got "June"'],
    ['2024-06', '2024-01', 'to: 2024-01 is before --from 2024-06; give the earlier month as --from'],
    ['2024-01', '2024-07', 'to: 2024-07 is not complete yet in Africa/Johannesburg; the latest complete month is 2024-06'],
    ['2014-06', '2024-06', `to: 2014-06..2024-06 is 121 months; at most ${MAX_RANGE_MONTHS} at a time`],
  ])('refuses --from %s --to %s with InvalidInput', (from, to, message) => {
    expect(() => completeMonthRange(from, to, NOW, TZ)).toThrow(expect.objectContaining({ name: 'InvalidInput', message }));
  });

  it('takes exactly 120 months', () => {
    expect(completeMonthRange('2014-07', '2024-06', NOW, TZ)).toHaveLength(120);
  });
});

describe('a history range', () => {
  it('may be open at either end, and checks the ends it has', () => {
    expect(monthRangeBounds(undefined, undefined)).toEqual({});
    expect(monthRangeBounds('2024-01', undefined)).toEqual({ from: { year: 2024, month: 1 } });
    expect(() => monthRangeBounds('2024-03', '2024-01')).toThrow('to: 2024-01 is before --from 2024-03');
    expect(() => monthRangeBounds(undefined, '24-01')).toThrow('to: must look like "YYYY-MM"');
  });
});
