import { DEFAULT_EXTRACT_ID, isExtractId, parseExtractIds } from '../../functions/core/extract-id';
import { DEFAULT_EXTRACT_ID as FOLDERS_DEFAULT } from '../../extracts/folders';

describe('extract ids', () => {
  it('the default is the loan extract, the same for the Lambdas and the folder loader', () => {
    expect(DEFAULT_EXTRACT_ID).toBe('loan-moving-average');
    expect(FOLDERS_DEFAULT).toBe(DEFAULT_EXTRACT_ID);
  });

  it("follows the definition schema's rule for ids", () => {
    expect(['loan-moving-average', 'client-activity', 'a1'].filter(isExtractId)).toHaveLength(3);
    expect(['Loan', 'loan--average', 'loan-', '1-loan', '', 'a'.repeat(41), 7, null].filter(isExtractId)).toEqual([]);
  });

  it('EXTRACT_IDS is a comma list of ids; a bad one is named', () => {
    expect(parseExtractIds('loan-moving-average, client-activity,loan-moving-average')).toEqual(['loan-moving-average', 'client-activity']);
    expect(() => parseExtractIds('loan-moving-average,Client')).toThrow('EXTRACT_IDS must be extract ids separated by commas; "Client" is not one');
    expect(() => parseExtractIds('loan-moving-average,')).toThrow('"" is not one');
  });
});
