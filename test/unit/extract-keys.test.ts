import { extractFileKey, manifestKey } from '../../functions/core/extract-keys';
import { monthWindow } from '../../functions/core/month';

describe('extractFileKey', () => {
  it('uses the last day of a leap February', () => {
    expect(extractFileKey('FirstNationalBank', monthWindow({ year: 2024, month: 2 }))).toBe(
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
    expect(extractFileKey('Nedbank', monthWindow({ year, month }))).toMatch(new RegExp(`/Nedbank_${fileDate}\\.csv$`));
  });

  it('writes the month with two digits in the folder', () => {
    expect(extractFileKey('Nedbank', monthWindow({ year: 2024, month: 3 }))).toBe(
      'extracts/bank_name=Nedbank/year=2024/month=03/Nedbank_20240331.csv',
    );
    expect(extractFileKey('Nedbank', monthWindow({ year: 2024, month: 11 }))).toContain('/year=2024/month=11/');
  });

  it('refuses a name that is not file-safe instead of writing it into a key', () => {
    expect(() => extractFileKey('Société Générale', monthWindow({ year: 2024, month: 3 }))).toThrow(/not a file-safe bank name/);
    expect(() => extractFileKey('', monthWindow({ year: 2024, month: 3 }))).toThrow(/not a file-safe bank name/);
  });
});

describe('manifestKey', () => {
  it('is one manifest per month, two-digit month', () => {
    expect(manifestKey(monthWindow({ year: 2025, month: 1 }))).toBe('extracts/_manifests/year=2025/month=01/manifest.json');
  });
});
