import { CsvRecordParser } from '../../functions/core/csv-reader';

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
