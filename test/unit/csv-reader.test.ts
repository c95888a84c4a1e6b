import { CsvRecordParser, scanExtractCsv } from '../../functions/core/csv-reader';
import type { ExtractDefinition } from '../../functions/core/extract-definition';
import { LOAN_EXTRACT } from '../support/run-context';

describe('CsvRecordParser', () => {
  it('splits records on unquoted line breaks only and undoes doubled quotes', () => {
    const parser = new CsvRecordParser();
    const records = [...parser.push('a,"b\n""c"",d",\n'), ...parser.push('"",x\n')];
    parser.end();
    expect(records).toEqual([
      ['a', 'b\n"c",d', ''],
      ['', 'x'],
    ]);
  });

  it('keeps a quoted field whole when it arrives in pieces', () => {
    const parser = new CsvRecordParser();
    const records = ['"a', '""', '"', ',"b', '"', '""', '\n', 'x\n'].flatMap((t) => parser.push(t));
    expect(() => parser.end()).not.toThrow();
    expect(records).toEqual([['a"', 'b"'], ['x']]);
  });

  it('rejects what the contract does not write', () => {
    expect(() => new CsvRecordParser().push('a"b\n')).toThrow(/quote inside an unquoted field/);
    expect(() => new CsvRecordParser().push('"a"b\n')).toThrow(/after a closing quote/);
    expect(() => new CsvRecordParser().push('a\r\n')).toThrow(/line 1: carriage return/);
    expect(() => new CsvRecordParser().push('a\n"b\nc\n\nd"x')).toThrow(/line 5: unexpected "x"/);
  });
});

describe('scanExtractCsv checks each field by its output column type', () => {
  // One column of each type, plus the definition's rules that name columns.
  const output = {
    ...LOAN_EXTRACT.output,
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'label', type: 'text' },
      { name: 'month', type: 'month' },
      { name: 'n', type: 'count' },
      { name: 'amount', type: 'integer' },
      { name: 'avg', type: 'decimal2' },
      { name: 'day', type: 'date' },
    ],
    splitBy: { entity: 'thing', idColumn: 'thing_id', nameColumn: 'label' },
    orderBy: 'id',
    monthColumn: 'month',
    controlTotals: ['amount', 'n'],
  } as const satisfies ExtractDefinition['output'];
  const HEADER = 'id,label,month,n,amount,avg,day\n';
  const scan = (rows: string) => scanExtractCsv(chunksOf(HEADER + rows), output, { entityName: 'A', month: '2024-02' });

  it('sums the control totals in their order, as BigInt', async () => {
    const result = await scan('-3,A,2024-02,2,9007199254740993,-0.33,2024-02-29\n5,A,2024-02,0,-4,12.00,2000-12-31\n');
    expect(result.rows).toBe(2);
    expect(result.controlTotals).toEqual([9007199254740989n, 2n]);
  });

  it('takes an empty text field (NULL) when it is not the name column', async () => {
    const empty = { ...output, splitBy: { entity: 'thing', idColumn: 'thing_id' } };
    const result = await scanExtractCsv(chunksOf(`${HEADER}1,,2024-02,0,0,0.00,2024-02-01\n`), empty, { entityName: 'A', month: '2024-02' });
    expect(result.rows).toBe(1);
  });

  it.each([
    ['1.0,A,2024-02,0,0,0.00,2024-02-01', /row 1 has id "1.0", not a whole number/],
    ['1,A,2024-02,-1,0,0.00,2024-02-01', /n "-1", not a whole number of at least 0/],
    ['1,A,2024-02,0,1e3,0.00,2024-02-01', /amount "1e3", not a whole number/],
    ['1,A,2024-02,0,0,0.5,2024-02-01', /avg "0.5", not a number with exactly two decimals/],
    ['1,A,2024-02,0,0,1.005,2024-02-01', /avg "1.005", not a number with exactly two decimals/],
    ['1,A,2024-13,0,0,0.00,2024-02-01', /month "2024-13", not a month YYYY-MM/],
    ['1,A,2024-02,0,0,0.00,2024-2-1', /day "2024-2-1", not a date YYYY-MM-DD/],
    ['1,A,2024-02,0,0,0.00,2024-04-31', /day "2024-04-31", not a date YYYY-MM-DD/],
    ['1,A,2024-02,0,0,0.00,1900-02-29', /day "1900-02-29", not a date YYYY-MM-DD/],
    ['1,A,2024-02,0,,0.00,2024-02-01', /row 1 has no amount \(NULL\); only text columns may be empty/],
    ['1,,2024-02,0,0,0.00,2024-02-01', /row 1 is for thing "", not "A"/],
    ['1,A,2024-01,0,0,0.00,2024-02-01', /row 1 is for month "2024-01", not 2024-02/],
  ])('refuses %s', async (row, message) => {
    await expect(scan(`${row}\n`)).rejects.toThrow(message);
  });

  it('takes a leap day of a leap year', async () => {
    expect((await scan('1,A,2024-02,0,0,0.00,2000-02-29\n2,A,2024-02,0,0,0.00,2024-02-29\n')).rows).toBe(2);
  });

  it('refuses rows out of order or repeated, by the orderBy column\'s value', async () => {
    await expect(scan('10,A,2024-02,0,0,0.00,2024-02-01\n9,A,2024-02,0,0,0.00,2024-02-01\n')).rejects.toThrow(/row 2: id 9 follows 10; rows must be sorted by id/);
    await expect(scan('-1,A,2024-02,0,0,0.00,2024-02-01\n-1,A,2024-02,0,0,0.00,2024-02-01\n')).rejects.toThrow(/id -1 follows -1/);
  });
});

async function* chunksOf(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text, 'utf8');
}
