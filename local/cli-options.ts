/** Command-line parsing shared by the local commands: unknown flags and bad values are errors, not ignored. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidInputError } from '../functions/core/errors';

export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new InvalidInputError('arguments', (error as Error).message);
  }
}

export function parseCount(text: string | undefined, field: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new InvalidInputError(field, `must be a whole number, got "${text}"`);
  }
  return value;
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
