/**
 * The execution input (contract section 4), as typed into the console's "Start execution" box or
 * sent by the schedule: `{}`, `{"month":"2024-03"}` or `{"month":"2024-03","force":true}`.
 * Anything else is an InvalidInput whose cause names the field and why, so the operator sees what
 * to fix in the execution's error, not in a log.
 */
import { InvalidInputError } from './errors';
import { resolveExtractMonth, type ExtractMonth } from './month';

export interface RunInput {
  readonly month: ExtractMonth;
  /** Re-run a month that already succeeded. */
  readonly force: boolean;
}

const FIELDS = ['month', 'force'];

/**
 * Validates the input and resolves the month: the given one, or the last complete calendar month
 * in the stage's time zone. A month that has not ended there yet is refused (its data still moves).
 */
export function parseRunInput(raw: unknown, now: Date, timeZone: string): RunInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidInputError(
      'input',
      `must be a JSON object such as {} or {"month":"2024-03"}, got ${JSON.stringify(raw) ?? 'nothing'}`,
    );
  }
  const fields = raw as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !FIELDS.includes(name));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      unknown.join(', '),
      `unknown field; the input takes only "month" ("YYYY-MM") and "force" (true or false)`,
    );
  }
  // Present-but-null is refused too: a caller who wrote "force" meant something by it.
  const force = 'force' in fields ? fields.force : false;
  if (typeof force !== 'boolean') {
    throw new InvalidInputError('force', `must be true or false, got ${JSON.stringify(force)}`);
  }
  return { month: resolveExtractMonth(fields.month, now, timeZone), force };
}
