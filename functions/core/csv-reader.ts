/**
 * Reading extract CSV files as the contract writes them (section 3): a streaming RFC 4180 record
 * parser (a quoted field may hold `,`, `"`, CR and LF, so a record can span lines), and a single-pass
 * scan of one file that yields what the manifest needs — rows, bytes, SHA-256, control totals —
 * while checking, by the extract's definition, that the file is one a consumer can rely on.
 */
import { createHash } from 'node:crypto';
import { csvLine } from './extract-csv';
import type { ExtractDefinition, OutputType } from './extract-definition';

export class CsvFormatError extends Error {
  override readonly name = 'CsvFormatError';
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

const UNQUOTED_SPECIAL = /[,\n\r"]/g;

/**
 * Strict RFC 4180 as the contract states it: `\n` line ends, quotes only around a whole field,
 * no backslash escapes. Anything else is an error rather than a guess, since a mis-split record
 * would silently change row counts and totals.
 */
export class CsvRecordParser {
  private fields: string[] = [];
  private field = '';
  private state = State.FieldStart;
  /** Physical line the parser is on (1-based), for error messages. */
  private line = 1;

  /** Feeds decoded text; returns the records completed by it. */
  push(text: string): string[][] {
    const records: string[][] = [];
    let i = 0;
    while (i < text.length) {
      if (this.state === State.Quoted) {
        const quote = text.indexOf('"', i);
        const end = quote === -1 ? text.length : quote;
        const chunk = text.slice(i, end);
        this.field += chunk;
        this.line += countNewlines(chunk);
        i = end;
        if (quote !== -1) {
          this.state = State.QuoteInQuoted;
          i++;
        }
        continue;
      }
      const c = text[i]!;
      if (this.state === State.QuoteInQuoted) {
        if (c === '"') {
          this.field += '"';
          this.state = State.Quoted;
        } else if (c === ',') {
          this.endField();
        } else if (c === '\n') {
          records.push(this.endRecord());
        } else {
          throw this.error(`unexpected ${JSON.stringify(c)} after a closing quote`);
        }
        i++;
        continue;
      }
      // FieldStart or Unquoted: take the run of plain characters at once.
      if (this.state === State.FieldStart && c === '"') {
        this.state = State.Quoted;
        i++;
        continue;
      }
      UNQUOTED_SPECIAL.lastIndex = i;
      const special = UNQUOTED_SPECIAL.exec(text);
      const end = special ? special.index : text.length;
      if (end > i) {
        this.field += text.slice(i, end);
        this.state = State.Unquoted;
        i = end;
        continue;
      }
      if (c === ',') this.endField();
      else if (c === '\n') records.push(this.endRecord());
      else if (c === '\r') throw this.error('carriage return outside quotes (line ends must be \\n)');
      else throw this.error('quote inside an unquoted field');
      i++;
    }
    return records;
  }

  /** Call after the last text; the data must end with a complete record. */
  end(): void {
    if (this.state === State.Quoted) throw this.error('quoted field is never closed');
    if (this.state !== State.FieldStart || this.fields.length > 0) {
      throw this.error('the last line has no line break (the file may be truncated)');
    }
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
  }

  private endRecord(): string[] {
    this.endField();
    const record = this.fields;
    this.fields = [];
    this.line++;
    return record;
  }

  private error(message: string): CsvFormatError {
    return new CsvFormatError(`line ${this.line}: ${message}`);
  }
}

/** All records of a whole CSV text held in memory (small files: tests, a benchmark's output). */
export function parseCsvText(text: string): string[][] {
  const parser = new CsvRecordParser();
  const records = parser.push(text);
  parser.end();
  return records;
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export interface ExtractCsvScan {
  /** Data rows, header excluded; a record whose quoted field holds a newline counts once. */
  readonly rows: number;
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the bytes. */
  readonly sha256: string;
  /** The sum of each of the definition's `output.controlTotals` columns, in that order. */
  readonly controlTotals: readonly bigint[];
}

export interface ExtractCsvExpectation {
  /** The entity's name as stored, which every row must carry in `output.splitBy.nameColumn` (if any). */
  readonly entityName: string;
  /** `YYYY-MM`, which every row must carry in `output.monthColumn` (if any). */
  readonly month: string;
}

type Output = ExtractDefinition['output'];

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * What a field of each output type may hold (docs/new-extract.md). Only a text field may be empty:
 * the contract writes a NULL as an empty field, and a number, month or date that is NULL would be a
 * hole a consumer cannot reconcile, so it means the SQL is wrong.
 */
const FIELD_PATTERNS: Readonly<Record<Exclude<OutputType, 'text'>, { readonly pattern: RegExp; readonly what: string }>> = {
  integer: { pattern: /^-?\d+$/, what: 'a whole number' },
  count: { pattern: /^\d+$/, what: 'a whole number of at least 0' },
  decimal2: { pattern: /^-?\d+\.\d\d$/, what: 'a number with exactly two decimals' },
  month: { pattern: /^\d{4}-(0[1-9]|1[0-2])$/, what: 'a month YYYY-MM' },
  date: { pattern: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, what: 'a date YYYY-MM-DD' },
};

function isCalendarDate(text: string): boolean {
  const [year, month, day] = text.split('-').map(Number) as [number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!);
}

/** The definition's columns as the reader checks them, worked out once per file. */
function layoutOf(output: Output) {
  const names = output.columns.map((c) => c.name);
  const at = (name: string | undefined) => (name === undefined ? undefined : names.indexOf(name));
  return {
    names,
    types: output.columns.map((c) => c.type),
    headerBytes: Buffer.from(csvLine(names), 'utf8'),
    orderBy: at(output.orderBy)!,
    nameColumn: at(output.splitBy.nameColumn),
    monthColumn: at(output.monthColumn),
    totals: output.controlTotals.map((name) => at(name)!),
  };
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Reads one extract file once. An empty stream is a file with no rows (rows 0, bytes 0); otherwise
 * the file must start with exactly the header of the definition's output columns, and every row
 * must be a well-formed row of the expected entity and month: each field of its column's type, rows
 * sorted by `output.orderBy`, one per value. Throws CsvFormatError saying where and what.
 */
export async function scanExtractCsv(
  chunks: AsyncIterable<Uint8Array>,
  output: Output,
  expect: ExtractCsvExpectation,
): Promise<ExtractCsvScan> {
  const layout = layoutOf(output);
  const hash = createHash('sha256');
  // fatal: invalid UTF-8 is an error; ignoreBOM: keep a BOM in the text so the header check sees it.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const parser = new CsvRecordParser();
  let bytes = 0;
  let prefix = Buffer.alloc(0);
  let records = 0;
  const totals = layout.totals.map(() => 0n);
  let lastOrder: bigint | undefined;

  const take = (record: string[]) => {
    records++;
    if (records === 1) {
      checkHeader(prefix, record, layout.names, layout.headerBytes);
      return;
    }
    const where = `row ${records - 1}`;
    if (record.length !== layout.names.length) {
      throw new CsvFormatError(`${where} has ${record.length} fields; the header has ${layout.names.length}`);
    }
    record.forEach((field, i) => checkField(field, layout.names[i]!, layout.types[i]!, where));
    if (layout.nameColumn !== undefined && record[layout.nameColumn] !== expect.entityName) {
      throw new CsvFormatError(
        `${where} is for ${output.splitBy.entity} ${JSON.stringify(record[layout.nameColumn])}, not ${JSON.stringify(expect.entityName)}`,
      );
    }
    if (layout.monthColumn !== undefined && record[layout.monthColumn] !== expect.month) {
      throw new CsvFormatError(`${where} is for month ${JSON.stringify(record[layout.monthColumn])}, not ${expect.month}`);
    }
    // The order column is an integer (the ODS's signed int keys: a negative id is an id), checked above.
    const order = BigInt(record[layout.orderBy]!);
    if (lastOrder !== undefined && order <= lastOrder) {
      throw new CsvFormatError(
        `${where}: ${output.orderBy} ${order} follows ${lastOrder}; rows must be sorted by ${output.orderBy}, one per value`,
      );
    }
    lastOrder = order;
    layout.totals.forEach((column, i) => (totals[i]! += BigInt(record[column]!)));
  };

  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
      if (prefix.length < layout.headerBytes.length) {
        prefix = Buffer.concat([prefix, Buffer.from(chunk.subarray(0, layout.headerBytes.length - prefix.length))]);
      }
      parser.push(decoder.decode(chunk, { stream: true })).forEach(take);
    }
    parser.push(decoder.decode()).forEach(take);
    parser.end();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      throw new CsvFormatError('is not valid UTF-8');
    }
    throw error;
  }
  return { rows: Math.max(records - 1, 0), bytes, sha256: hash.digest('hex'), controlTotals: totals };
}

function checkField(text: string, column: string, type: OutputType, where: string): void {
  if (type === 'text') return;
  const { pattern, what } = FIELD_PATTERNS[type];
  if (text === '') throw new CsvFormatError(`${where} has no ${column} (NULL); only text columns may be empty`);
  if (!pattern.test(text) || (type === 'date' && !isCalendarDate(text))) {
    throw new CsvFormatError(`${where} has ${column} ${JSON.stringify(text)}, not ${what}`);
  }
}

function checkHeader(prefix: Buffer, header: string[], names: readonly string[], headerBytes: Buffer): void {
  if (prefix.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) {
    throw new CsvFormatError('starts with a byte order mark; the contract says UTF-8 without BOM');
  }
  if (header.join(',') !== names.join(',')) {
    throw new CsvFormatError(`header is "${header.join(',')}"; the extract's columns are "${names.join(',')}"`);
  }
  if (!prefix.equals(headerBytes)) {
    throw new CsvFormatError('header line is not written exactly as the contract writes it (quoting or line end)');
  }
}
