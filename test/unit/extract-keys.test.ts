import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyPatternPrefix, parseExtractDefinition } from '../../functions/core/extract-definition';
import { analyticsFileKey, extractFileKey, keysUseEntityNames, manifestKey } from '../../functions/core/extract-keys';
import { monthWindow } from '../../functions/core/month';
import { LOAN_EXTRACT } from '../support/run-context';

const CLIENT_ACTIVITY = parseExtractDefinition(
  JSON.parse(readFileSync(join(__dirname, '../fixtures/extracts/client-activity/extract.json'), 'utf8')),
  'client-activity',
);
const fnb = { fileName: 'FirstNationalBank', id: 1 };
const nedbank = { fileName: 'Nedbank', id: 2 };

describe('the loan extract\'s keys (contract section 3)', () => {
  it('uses the last day of a leap February', () => {
    expect(extractFileKey(LOAN_EXTRACT, monthWindow({ year: 2024, month: 2 }), fnb)).toBe(
      'extracts/bank_name=FirstNationalBank/year=2024/month=02/FirstNationalBank_20240229.csv',
    );
  });

  it.each([
    [2023, 2, '20230228'],
    [1900, 2, '19000228'],
    [2000, 2, '20000229'],
    [2024, 4, '20240430'],
    [2024, 12, '20241231'],
  ])('%i-%i ends on %s', (year, month, fileDate) => {
    expect(extractFileKey(LOAN_EXTRACT, monthWindow({ year, month }), nedbank)).toMatch(new RegExp(`/Nedbank_${fileDate}\\.csv$`));
  });

  it('writes the month with two digits in the folder', () => {
    expect(extractFileKey(LOAN_EXTRACT, monthWindow({ year: 2024, month: 3 }), nedbank)).toBe(
      'extracts/bank_name=Nedbank/year=2024/month=03/Nedbank_20240331.csv',
    );
    expect(extractFileKey(LOAN_EXTRACT, monthWindow({ year: 2024, month: 11 }), nedbank)).toContain('/year=2024/month=11/');
  });

  it('refuses a name that is not file-safe instead of writing it into a key', () => {
    const month = monthWindow({ year: 2024, month: 3 });
    expect(() => extractFileKey(LOAN_EXTRACT, month, { fileName: 'Société Générale', id: 3 })).toThrow(/not a file-safe name/);
    expect(() => extractFileKey(LOAN_EXTRACT, month, { fileName: '', id: 3 })).toThrow(/not a file-safe name/);
  });

  it('puts the analysts\' Parquet copy under analytics/ with the same partitions', () => {
    expect(analyticsFileKey(LOAN_EXTRACT, monthWindow({ year: 2024, month: 2 }), fnb)).toBe(
      'analytics/bank_name=FirstNationalBank/year=2024/month=02/FirstNationalBank_20240229.parquet',
    );
  });

  it('is one manifest per month, two-digit month', () => {
    expect(manifestKey(LOAN_EXTRACT, monthWindow({ year: 2025, month: 1 }))).toBe('extracts/_manifests/year=2025/month=01/manifest.json');
    expect(keyPatternPrefix(LOAN_EXTRACT.output.keys.manifest)).toBe('extracts/_manifests/year=');
    expect(keyPatternPrefix(LOAN_EXTRACT.output.keys.file)).toBe('extracts/bank_name=');
  });

  it('needs bank names folded: its keys carry them', () => {
    expect(keysUseEntityNames(LOAN_EXTRACT)).toBe(true);
  });
});

describe('the client-activity extract\'s keys (by branch id, from its definition)', () => {
  const february = monthWindow({ year: 2024, month: 2 });

  it('names each file by the branch id and the month\'s last day, whatever the name', () => {
    expect(extractFileKey(CLIENT_ACTIVITY, february, { fileName: '', id: 7 })).toBe(
      'extracts/client-activity/branch_id=7/2024-02/branch7_clients_20240229.csv',
    );
  });

  it('has its manifests under its own folder, and no Parquet copy', () => {
    expect(manifestKey(CLIENT_ACTIVITY, february)).toBe('extracts/client-activity/_manifests/2024-02.json');
    expect(keyPatternPrefix(CLIENT_ACTIVITY.output.keys.manifest)).toBe('extracts/client-activity/_manifests/');
    expect(analyticsFileKey(CLIENT_ACTIVITY, february, { fileName: 'x', id: 7 })).toBeUndefined();
    expect(keysUseEntityNames(CLIENT_ACTIVITY)).toBe(false);
  });
});
