/**
 * The execution input (contract section 4), as typed into the console's "Start execution" box or
 * sent by an extract's schedule: `{}`, `{"extract":"client-activity"}`, `{"month":"2024-03"}`,
 * `{"extract":"loan-moving-average","month":"2024-03","force":true}`. Without `extract` the input is
 * the loan extract's, so the inputs operators used before extracts were templated keep working.
 * Anything else is an InvalidInput whose cause names the field and why, so the operator sees what
 * to fix in the execution's error, not in a log.
 */
import { DEFAULT_EXTRACT_ID, isExtractId } from './extract-id';
import { InvalidInputError } from './errors';
import { resolveExtractMonth, type ExtractMonth } from './month';

export interface RunInput {
  /** The extract's id. */
  readonly extract: string;
  readonly month: ExtractMonth;
  /** Re-run a month that already succeeded. */
  readonly force: boolean;
}

const FIELDS = ['extract', 'month', 'force'];

/**
 * The extract the input names (the loan extract when it names none), after checking the input's
 * shape: the definition, and so the time zone the month is resolved in, is read by this id.
 */
export function runInputExtract(raw: unknown): string {
  const fields = inputFields(raw);
  if (!('extract' in fields)) return DEFAULT_EXTRACT_ID;
  const extract = fields.extract;
  if (!isExtractId(extract)) {
    throw new InvalidInputError(
      'extract',
      `must be an extract's id (lower-case words of a-z and 0-9 joined by dashes, as in extracts/<id>/), got ${JSON.stringify(extract)}`,
    );
  }
  return extract;
}

/**
 * Validates the input and resolves the month: the given one, or the last complete calendar month
 * in the extract's time zone. A month that has not ended there yet is refused (its data still moves).
 */
export function parseRunInput(raw: unknown, now: Date, timeZone: string): RunInput {
  const extract = runInputExtract(raw);
  const fields = inputFields(raw);
  // Present-but-null is refused too: a caller who wrote "force" meant something by it.
  const force = 'force' in fields ? fields.force : false;
  if (typeof force !== 'boolean') {
    throw new InvalidInputError('force', `must be true or false, got ${JSON.stringify(force)}`);
  }
  return { extract, month: resolveExtractMonth(fields.month, now, timeZone), force };
}

/**
 * The input's extract as far as it can be told from a possibly bad input, for the failure email of
 * an execution whose input was refused: a usable `extract`, or the loan extract for an object
 * without one (as ResolveRun reads it). Undefined when the input names no usable extract.
 */
export function extractNamedBy(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  if (!('extract' in raw)) return DEFAULT_EXTRACT_ID;
  const named = (raw as { extract?: unknown }).extract;
  return isExtractId(named) ? named : undefined;
}

function inputFields(raw: unknown): Record<string, unknown> {
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
      'unknown field; the input takes only "extract" (an extract\'s id), "month" ("YYYY-MM") and "force" (true or false)',
    );
  }
  return fields;
}
