/**
 * Reading extract CSV files as the contract writes them (section 3): a streaming RFC 4180 record
 * parser (a quoted field may hold `,`, `"`, CR and LF, so a record can span lines), and a single-pass
 * scan of one file that yields what the manifest needs — rows, bytes, SHA-256, control totals —
 * while checking the file is one a consumer can rely on.
 */
import { createHash } from 'node:crypto';
import { EXTRACT_COLUMNS, EXTRACT_HEADER } from './extract-csv';

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
  readonly loanCount: bigint;
  readonly loanAmount: bigint;
}

export interface ExtractCsvExpectation {
  /** `bank.name` every row must carry. */
  readonly bankName: string;
  /** `YYYY-MM` every row must carry. */
  readonly month: string;
}

const HEADER_BYTES = Buffer.from(EXTRACT_HEADER, 'utf8');
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const COLUMN = columnPositions(['bank_name', 'branch_id', 'month', 'loan_count', 'loan_amount'] as const);

/** Where each column the reader checks sits in glue/extract-layout.json's order; a missing one fails at load. */
function columnPositions<T extends string>(names: readonly T[]): Record<T, number> {
  const positions = {} as Record<T, number>;
  for (const name of names) {
    const at = EXTRACT_COLUMNS.indexOf(name);
    if (at < 0) throw new Error(`glue/extract-layout.json has no column ${name}`);
    positions[name] = at;
  }
  return positions;
}
const WHOLE_NUMBER = /^-?\d+$/;
const COUNT = /^\d+$/;

/**
 * Reads one extract file once. An empty stream is a file with no rows (rows 0, bytes 0); otherwise
 * the file must start with exactly the contract's header and every row must be a well-formed row of
 * the expected bank and month, sorted by branch_id. Throws CsvFormatError saying where and what.
 */
export async function scanExtractCsv(chunks: AsyncIterable<Uint8Array>, expect: ExtractCsvExpectation): Promise<ExtractCsvScan> {
  const hash = createHash('sha256');
  // fatal: invalid UTF-8 is an error; ignoreBOM: keep a BOM in the text so the header check sees it.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const parser = new CsvRecordParser();
  let bytes = 0;
  let prefix = Buffer.alloc(0);
  let records = 0;
  let loanCount = 0n;
  let loanAmount = 0n;
  let lastBranch: bigint | undefined;

  const take = (record: string[]) => {
    records++;
    if (records === 1) {
      checkHeader(prefix, record);
      return;
    }
    const where = `row ${records - 1}`;
    if (record.length !== EXTRACT_COLUMNS.length) {
      throw new CsvFormatError(`${where} has ${record.length} fields; the header has ${EXTRACT_COLUMNS.length}`);
    }
    const bankName = record[COLUMN.bank_name]!;
    if (bankName !== expect.bankName) {
      throw new CsvFormatError(`${where} is for bank ${JSON.stringify(bankName)}, not ${JSON.stringify(expect.bankName)}`);
    }
    const month = record[COLUMN.month]!;
    if (month !== expect.month) throw new CsvFormatError(`${where} is for month ${JSON.stringify(month)}, not ${expect.month}`);
    const branch = record[COLUMN.branch_id]!;
    // branch_id is the ODS's signed int primary key: a negative id is an id.
    if (!WHOLE_NUMBER.test(branch)) throw new CsvFormatError(`${where} has branch_id ${JSON.stringify(branch)}, not a whole number`);
    const branchId = BigInt(branch);
    if (lastBranch !== undefined && branchId <= lastBranch) {
      throw new CsvFormatError(`${where}: branch_id ${branch} follows ${lastBranch}; rows must be sorted by branch_id, one per branch`);
    }
    lastBranch = branchId;
    loanCount += wholeNumber(record[COLUMN.loan_count]!, 'loan_count', where, COUNT);
    loanAmount += wholeNumber(record[COLUMN.loan_amount]!, 'loan_amount', where, WHOLE_NUMBER);
  };

  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
      if (prefix.length < HEADER_BYTES.length) {
        prefix = Buffer.concat([prefix, Buffer.from(chunk.subarray(0, HEADER_BYTES.length - prefix.length))]);
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
  return { rows: Math.max(records - 1, 0), bytes, sha256: hash.digest('hex'), loanCount, loanAmount };
}

function checkHeader(prefix: Buffer, header: string[]): void {
  if (prefix.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) {
    throw new CsvFormatError('starts with a byte order mark; the contract says UTF-8 without BOM');
  }
  if (header.join(',') !== EXTRACT_COLUMNS.join(',')) {
    throw new CsvFormatError(`header is "${header.join(',')}"; the contract's is "${EXTRACT_COLUMNS.join(',')}"`);
  }
  if (!prefix.equals(HEADER_BYTES)) {
    throw new CsvFormatError('header line is not written exactly as the contract writes it (quoting or line end)');
  }
}

function wholeNumber(text: string, column: string, where: string, pattern: RegExp): bigint {
  if (!pattern.test(text)) throw new CsvFormatError(`${where} has ${column} ${JSON.stringify(text)}, not a whole number`);
  return BigInt(text);
}
