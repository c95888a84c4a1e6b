/** The local commands' option parsing: anything ambiguous is refused as InvalidInput, never guessed. */
import { parseCommandLine, parseCount, parseExtract, parseExtractId, parsePort, parsePostgresUrl } from '../../local/cli-options';

const OPTIONS = { month: { type: 'string' }, force: { type: 'boolean' }, source: { type: 'string' } } as const;

describe('parseCommandLine', () => {
  it('takes each option once', () => {
    expect(parseCommandLine(['--month', '2024-03', '--force'], OPTIONS)).toEqual({ month: '2024-03', force: true });
  });

  it.each([
    [['--month', '2024-03', '--month', '2024-04'], 'month'],
    [['--month=2024-03', '--month', '2024-03'], 'month'],
    [['--force', '--force'], 'force'],
  ])('refuses %j rather than taking the last', (args, option) => {
    expect(() => parseCommandLine(args, OPTIONS)).toThrow(expect.objectContaining({ name: 'InvalidInput', message: `arguments: --${option} is given more than once; give it once` }));
  });

  it('does not repeat the values of a repeated option (one may hold a password)', () => {
    expect(() => parseCommandLine(['--source', 'postgres://u:s3cret@h/db', '--source', 'postgres://u:s3cret@h/db'], OPTIONS)).toThrow(/^(?!.*s3cret)/);
  });
});

describe('parsePostgresUrl', () => {
  it.each(['postgres://reader@db.example:5432/ods', 'postgresql://reader:p%40ss@db.example/ods', 'postgres:///ods'])('takes %s', (url) => {
    expect(parsePostgresUrl(url, 'source')).toBe(url);
  });

  it.each(['postgres://reader:s3cret@db.example:99999/ods', 'postgres://reader:s3cret@db example/ods', 'postgres://reader:s3cret@[db/ods'])(
    'refuses %s as InvalidInput without echoing it',
    (url) => {
      let error: Error | undefined;
      try {
        parsePostgresUrl(url, 'source');
      } catch (caught) {
        error = caught as Error;
      }
      expect(error).toMatchObject({ name: 'InvalidInput', message: expect.stringMatching(/^source: is not a URL that parses/) });
      expect(error!.message).not.toContain('s3cret');
    },
  );
});

describe('parseCount', () => {
  it('takes a whole number from its minimum up, and the fallback when not given', () => {
    expect(parseCount('3', 'n', 0, 1)).toBe(3);
    expect(parseCount(undefined, 'n', 7, 1)).toBe(7);
    expect(parseCount('0', 'n', 7)).toBe(0);
    expect(() => parseCount('0', 'n', 7, 1)).toThrow('n: must be a whole number from 1 up, got "0"');
    expect(() => parseCount('1e3', 'n', 7)).toThrow('n: must be a whole number, got "1e3"');
  });
});

describe('parsePort', () => {
  it('takes 0 (any free port) to 65535, and the fallback when not given', () => {
    expect(parsePort(undefined, 'port', 2222)).toBe(2222);
    expect(parsePort('0', 'port', 2222)).toBe(0);
    expect(parsePort('65535', 'port', 2222)).toBe(65535);
    expect(() => parsePort('65536', 'port', 2222)).toThrow('port: must be a TCP port from 0 to 65535, got "65536"');
    expect(() => parsePort('-1', 'port', 2222)).toThrow('port: must be a whole number, got "-1"');
  });
});

describe('--extract', () => {
  it('is the loan extract when not given, and any extract id otherwise', () => {
    expect(parseExtractId(undefined)).toBe('loan-moving-average');
    expect(parseExtractId('client-activity')).toBe('client-activity');
  });

  it.each(['Loan', 'loan_extract', '../loan-moving-average', ''])('refuses %p as InvalidInput naming extract', (text) => {
    expect(() => parseExtractId(text)).toThrow(expect.objectContaining({ name: 'InvalidInput', message: expect.stringMatching(/^extract: must be an extract's id/) }));
  });

  it('finds the folder in extracts/, then in EXTRACTS_PATH; an id found nowhere names the extracts there are', () => {
    expect(parseExtract(undefined, {}).definition.id).toBe('loan-moving-average');
    expect(() => parseExtract('client-activity', { EXTRACTS_PATH: 'test/no-such-folder' })).toThrow(
      expect.objectContaining({ name: 'InvalidInput', message: expect.stringMatching(/^extract: no folder client-activity\/extract\.json in .*; extracts there: loan-moving-average$/) }),
    );
  });
});
