/**
 * The extract file's format (contract section 3): the columns of section 2 in order, UTF-8 without
 * BOM, `,` separator, `\n` line ends, RFC 4180 quoting only where a field needs it.
 */
import layout from '../../glue/extract-layout.json';

/** The contract's columns in order, from glue/extract-layout.json (glue/etl.py reads the same file). */
export const EXTRACT_COLUMNS: readonly string[] = layout.columns;

const NEEDS_QUOTES = /[",\r\n]/;

/** A field as RFC 4180 writes it: quoted, with inner quotes doubled, only if it holds , " CR or LF. NULL is empty. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(values: readonly (string | null)[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

export const EXTRACT_HEADER = csvLine(EXTRACT_COLUMNS);
