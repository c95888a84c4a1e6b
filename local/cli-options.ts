/** Command-line parsing shared by the local commands: unknown flags and bad values are errors, not ignored. */
import { relative, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_EXTRACT_ID, extractIds, findExtract, unknownExtractProblem, type ExtractFolder } from '../extracts/folders';
import { InvalidInputError } from '../functions/core/errors';
import { isExtractId } from '../functions/core/extract-id';
import { calendarDateIn, parseCalendarDate, type CalendarDate } from '../functions/core/month';

/** Each option at most once: a repeated one (`--month 2024-03 --month 2024-04`) is refused, not resolved by taking the last. */
export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    throw new InvalidInputError('arguments', (error as Error).message);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    // The values are not repeated back: one of them may hold a password (--source).
    if (seen.has(token.name)) throw new InvalidInputError('arguments', `--${token.name} is given more than once; give it once`);
    seen.add(token.name);
  }
  return parsed.values;
}

/** A whole number of at least `min` (default 0), or `fallback` when not given. */
export function parseCount(text: string | undefined, field: string, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidInputError(field, `must be a whole number${min > 0 ? ` from ${min} up` : ''}, got "${text}"`);
  }
  return value;
}

/** A TCP port for a server on this machine (0: any free one), or `fallback` when not given. */
export function parsePort(text: string | undefined, field: string, fallback: number): number {
  const port = parseCount(text, field, fallback);
  if (port > 65535) throw new InvalidInputError(field, `must be a TCP port from 0 to 65535, got "${text}"`);
  return port;
}

class PortInUseError extends Error {
  override readonly name = 'PortInUse';
}

/** For a server's start: an EADDRINUSE becomes an error saying which port is taken and what to do; anything else is thrown as it is. */
export function portInUse(port: number, likelyHolder: string): (error: NodeJS.ErrnoException) => never {
  return (error) => {
    if (error.code === 'EADDRINUSE') throw new PortInUseError(`port ${port} on 127.0.0.1 is in use (${likelyHolder}?): choose another with --port`);
    throw error;
  };
}

/** Where the local commands keep buckets, ledger and outbox unless told otherwise. */
export const DEFAULT_DATA_DIR = '.local';

/** The --data-dir given (default .local), as an absolute path. */
export function parseDataDir(text: string | undefined, field = 'data-dir'): string {
  if (text?.trim() === '') throw new InvalidInputError(field, `is empty: name a folder (without --${field} it is ${DEFAULT_DATA_DIR})`);
  return resolve(text ?? DEFAULT_DATA_DIR);
}

/** --extract as an extract's id: the loan extract when not given. */
export function parseExtractId(text: string | undefined, field = 'extract'): string {
  if (text === undefined) return DEFAULT_EXTRACT_ID;
  if (!isExtractId(text)) throw new InvalidInputError(field, `must be an extract's id (the name of its folder, as in extracts/<id>/), got "${text}"`);
  return text;
}

/**
 * --extract's folder, found in extracts/ and EXTRACTS_PATH (extracts/folders.ts), refused before
 * anything starts: an unknown id as bad input (exit code 2, naming the field and the extracts there),
 * a definition that does not check with its ExtractDefinitionError.
 */
export function parseExtract(text: string | undefined, env: NodeJS.ProcessEnv = process.env, field = 'extract'): ExtractFolder {
  const id = parseExtractId(text, field);
  if (!extractIds(env).includes(id)) throw new InvalidInputError(field, unknownExtractProblem(id, env));
  return findExtract(id, env);
}

/** The stage's time zone: STAGE_TIME_ZONE, or production's default. */
export function stageTimeZone(): string {
  return process.env.STAGE_TIME_ZONE || 'Africa/Johannesburg';
}

/** The day the embedded sample is generated for: --sample-date, or today in the stage's time zone (the sample is seeded by day). */
export function parseSampleDate(text: string | undefined, now: Date, timeZone: string): CalendarDate {
  return text === undefined ? calendarDateIn(now, timeZone) : parseCalendarDate(text, 'sample-date');
}

/** One of `choices`, or undefined when not given. */
export function parseChoice<T extends string>(text: string | undefined, field: string, choices: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(choices as readonly string[]).includes(text)) {
    throw new InvalidInputError(field, `must be one of ${choices.join(', ')}, got "${text}"`);
  }
  return text as T;
}

export function parsePostgresUrl(text: string | undefined, field: string): string | undefined {
  if (text === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(text)) {
    throw new InvalidInputError(field, 'must be a postgres:// URL');
  }
  if (!URL.canParse(text)) {
    // Not echoed: the part that does not parse may be the password.
    throw new InvalidInputError(
      field,
      'is not a URL that parses (postgres://user@host:5432/database; a port is a number up to 65535, and a user or ' +
        'password holding @ : / ? # % or spaces must be percent-encoded, or leave the password out and set PGPASSWORD)',
    );
  }
  return text;
}

/** Prints an error the way Step Functions would show it (name, then cause) and sets a failing exit code. */
export function reportFailure(error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  console.error(`\n✖ ${e.name}: ${e.message}`);
  process.exitCode = e.name === 'InvalidInput' ? 2 : 1;
}

/** The source URL without its password, for printing. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** A path as printed: relative to the working directory when under it. */
export function shown(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') ? path : fromHere || '.';
}

/** --at: the instant to act as at (ISO 8601 with Z or an offset), to see what the tool says then; default now. */
export function parseAt(text: string | undefined, field = 'at'): Date {
  if (text === undefined) return new Date();
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) || Number.isNaN(at.getTime())) {
    throw new InvalidInputError(field, `must be an instant like 2024-04-01T08:00:00+02:00 (with Z or an offset), got "${text}"`);
  }
  parseCalendarDate(text.slice(0, 10), field); // Date rolls 2024-02-30 over to March 1; refuse it instead.
  return at;
}
