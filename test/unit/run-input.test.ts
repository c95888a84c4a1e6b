import { InvalidInputError } from '../../functions/core/errors';
import { formatMonth, monthWindow } from '../../functions/core/month';
import { extractNamedBy, parseRunInput, runInputExtract } from '../../functions/core/run-input';

const JOHANNESBURG = 'Africa/Johannesburg';

function monthOf(raw: unknown, now: string, timeZone = JOHANNESBURG): string {
  return formatMonth(parseRunInput(raw, new Date(now), timeZone).month);
}

function rejection(raw: unknown, now = '2024-05-10T08:00:00Z'): InvalidInputError {
  try {
    parseRunInput(raw, new Date(now), JOHANNESBURG);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error(`input ${JSON.stringify(raw)} was accepted`);
}

describe('execution input: the month a run is for', () => {
  it('{} runs the last complete month in the stage time zone', () => {
    expect(monthOf({}, '2024-05-10T08:00:00Z')).toBe('2024-04');
  });

  it('in January, {} runs December of the year before', () => {
    expect(monthOf({}, '2025-01-01T06:00:00Z')).toBe('2024-12');
  });

  it('at 00:30 on April 1st in Johannesburg (22:30 UTC on March 31st) {} already runs March', () => {
    expect(monthOf({}, '2024-03-31T22:30:00Z')).toBe('2024-03');
    // The same instant in UTC is still March, so only February is complete there.
    expect(monthOf({}, '2024-03-31T22:30:00Z', 'UTC')).toBe('2024-02');
  });

  it('March may be asked for explicitly once it has ended in Johannesburg, even while UTC is still in March', () => {
    expect(monthOf({ month: '2024-03' }, '2024-03-31T22:30:00Z')).toBe('2024-03');
  });

  it('a leap February is a whole 29-day month', () => {
    const { month } = parseRunInput({ month: '2024-02' }, new Date('2024-03-01T06:00:00Z'), JOHANNESBURG);
    expect(monthWindow(month)).toMatchObject({ windowStart: '2023-12-01', windowEnd: '2024-03-01', fileDate: '20240229' });
    expect(monthWindow(parseRunInput({ month: '2023-02' }, new Date('2024-03-01T06:00:00Z'), JOHANNESBURG).month).fileDate).toBe(
      '20230228',
    );
  });

  it('force is false unless given, and true only when given as true', () => {
    expect(parseRunInput({}, new Date('2024-05-10T08:00:00Z'), JOHANNESBURG).force).toBe(false);
    expect(parseRunInput({ month: '2024-03', force: false }, new Date('2024-05-10T08:00:00Z'), JOHANNESBURG).force).toBe(false);
    expect(parseRunInput({ month: '2024-03', force: true }, new Date('2024-05-10T08:00:00Z'), JOHANNESBURG).force).toBe(true);
    // Re-running the default month by force needs no month.
    expect(parseRunInput({ force: true }, new Date('2024-05-10T08:00:00Z'), JOHANNESBURG)).toMatchObject({ force: true });
  });
});

describe('execution input: what is refused, and how the cause reads', () => {
  it.each([
    ['2024-13', /months run from 01 to 12/],
    ['March', /must look like "YYYY-MM"/],
    ['2024-3', /must look like "YYYY-MM"/],
    [202403, /must be a string/],
    [null, /must be a string/],
  ])('month %p is InvalidInput on the month field', (month, why) => {
    const error = rejection({ month });
    expect(error.name).toBe('InvalidInput');
    expect(error.field).toBe('month');
    expect(error.message).toMatch(why);
  });

  it('a month that has not ended yet is refused, naming the latest complete month', () => {
    const error = rejection({ month: '2024-05' }, '2024-05-10T08:00:00Z');
    expect(error.field).toBe('month');
    expect(error.message).toBe('month: 2024-05 is not complete yet in Africa/Johannesburg; the latest complete month is 2024-04');
  });

  it('unknown keys are named, with the fields the input does take', () => {
    const error = rejection({ month: '2024-03', forse: true, bank: 'x' });
    expect(error.field).toBe('forse, bank');
    expect(error.message).toMatch(/^forse, bank: unknown field; the input takes only "extract" \(an extract's id\), "month" \("YYYY-MM"\) and "force"/);
  });

  it.each([['yes'], [1], [null], ['true']])('force %p is InvalidInput on the force field', (force) => {
    const error = rejection({ month: '2024-03', force });
    expect(error.field).toBe('force');
    expect(error.message).toBe(`force: must be true or false, got ${JSON.stringify(force)}`);
  });

  it.each([['"2024-03"', '2024-03'], ['[]', []], ['null', null]])('an input that is not an object (%s) is refused', (_label, raw) => {
    const error = rejection(raw);
    expect(error.field).toBe('input');
    expect(error.message).toMatch(/must be a JSON object such as \{\} or \{"month":"2024-03"\}/);
  });
});

describe('execution input: the extract a run is of', () => {
  it('without "extract" the input is the loan extract\'s, as operators\' inputs were before extracts were templated', () => {
    expect(runInputExtract({})).toBe('loan-moving-average');
    expect(parseRunInput({ month: '2024-03' }, new Date('2024-05-10T08:00:00Z'), JOHANNESBURG)).toMatchObject({ extract: 'loan-moving-average', force: false });
  });

  it('takes an extract id with the month and force', () => {
    expect(parseRunInput({ extract: 'client-activity', month: '2024-03', force: true }, new Date('2024-05-10T08:00:00Z'), JOHANNESBURG)).toEqual({
      extract: 'client-activity',
      month: { year: 2024, month: 3 },
      force: true,
    });
  });

  it.each([['Loan'], ['loan_extract'], ['-loan'], [''], [7], [null], ['a'.repeat(41)]])('refuses %p as InvalidInput on the extract field', (extract) => {
    const error = rejection({ extract, month: '2024-03' });
    expect(error.field).toBe('extract');
    expect(error.message).toMatch(/^extract: must be an extract's id/);
  });

  it('names the extract of a refused input when it can (for the failure email), and none when it cannot', () => {
    expect(extractNamedBy({ extract: 'client-activity', month: 'March' })).toBe('client-activity');
    expect(extractNamedBy({ month: 'March', forse: true })).toBe('loan-moving-average');
    expect(extractNamedBy({ extract: 'Bad Id' })).toBeUndefined();
    expect(extractNamedBy('not an object')).toBeUndefined();
  });
});
