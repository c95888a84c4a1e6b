/**
 * The extract file's format (contract section 3, the same for every extract): the definition's
 * output columns in order, UTF-8 without BOM, `,` separator, `\n` line ends, RFC 4180 quoting only
 * where a field needs it.
 */
import type { ExtractDefinition } from './extract-definition';

const NEEDS_QUOTES = /[",\r\n]/;

/** A field as RFC 4180 writes it: quoted, with inner quotes doubled, only if it holds , " CR or LF. NULL is empty. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(values: readonly (string | null)[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

/** The published columns' names in order (the definition's `output.columns`). */
export function extractColumns(definition: Pick<ExtractDefinition, 'output'>): string[] {
  return definition.output.columns.map((column) => column.name);
}

/** The header line of every file of the extract, and the whole of a file with no rows. */
export function extractHeader(definition: Pick<ExtractDefinition, 'output'>): string {
  return csvLine(extractColumns(definition));
}
