/**
 * A range of extract months, `--from YYYY-MM --to YYYY-MM`, inclusive, for the operator's commands
 * (backfill, history). Months are parsed and checked by core/month.ts, the one month logic.
 */
import { InvalidInputError } from './errors';
import { addMonths, compareMonths, formatMonth, parseMonth, resolveExtractMonth, type ExtractMonth } from './month';

/** Ten years: more is a typo, not a backfill. */
export const MAX_RANGE_MONTHS = 120;

/** Every month from `from` to `to`, inclusive, as `YYYY-MM`. */
export function monthsBetween(from: ExtractMonth, to: ExtractMonth): string[] {
  const months: string[] = [];
  for (let m = from; compareMonths(m, to) <= 0; m = addMonths(m, 1)) months.push(formatMonth(m));
  return months;
}

/**
 * The months a backfill runs: both ends given, well-formed, in order, complete in `timeZone` at
 * `now` (as the state machine requires), and at most MAX_RANGE_MONTHS of them. InvalidInput otherwise.
 */
export function completeMonthRange(fromText: unknown, toText: unknown, now: Date, timeZone: string): string[] {
  if (fromText === undefined) throw new InvalidInputError('from', 'is required, for example --from 2024-01');
  if (toText === undefined) throw new InvalidInputError('to', 'is required, for example --to 2024-06');
  const from = asField('from', () => resolveExtractMonth(fromText, now, timeZone));
  const to = asField('to', () => resolveExtractMonth(toText, now, timeZone));
  return checkedRange(from, to);
}

/** The months history shows: either end may be open (undefined); given ends are checked as above, save completeness. */
export function monthRangeBounds(fromText: unknown, toText: unknown): { from?: ExtractMonth; to?: ExtractMonth } {
  const from = fromText === undefined ? undefined : asField('from', () => parseMonth(fromText));
  const to = toText === undefined ? undefined : asField('to', () => parseMonth(toText));
  if (from && to) checkedRange(from, to);
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

function checkedRange(from: ExtractMonth, to: ExtractMonth): string[] {
  if (compareMonths(from, to) > 0) {
    throw new InvalidInputError('to', `${formatMonth(to)} is before --from ${formatMonth(from)}; give the earlier month as --from`);
  }
  const count = compareMonths(to, from) + 1;
  if (count > MAX_RANGE_MONTHS) {
    throw new InvalidInputError('to', `${formatMonth(from)}..${formatMonth(to)} is ${count} months; at most ${MAX_RANGE_MONTHS} at a time`);
  }
  return monthsBetween(from, to);
}

/** month.ts names the field `month`; here it is the flag that was given. */
function asField<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError(field, error.reason);
    throw error;
  }
}
