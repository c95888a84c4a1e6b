import { fileSafeName, nameEntities } from '../../functions/core/entity-naming';
import { EntityNamingError } from '../../functions/core/errors';

describe('fileSafeName', () => {
  it.each([
    ['First National Bank', 'FirstNationalBank'],
    ['Société Générale', 'SocieteGenerale'],
    ['Nedbank', 'Nedbank'],
    ['Crédit Agricole Côte d’Ivoire', 'CreditAgricoleCotedIvoire'],
    ['Bank of A.B.C. (Pty) Ltd.', 'BankofABCPtyLtd'],
    ['  Capitec\tBank\n', 'CapitecBank'],
    ['Bank 2000 / Branch-Net, Inc.', 'Bank2000BranchNetInc'],
    ['Ørsted Bank', 'OrstedBank'],
    ['Straßenbank', 'Strassenbank'],
    ['ＡＢＣ Bank', 'ABCBank'],
    ['Bank 💰', 'Bank'],
  ])('%j → %j', (name, expected) => {
    expect(fileSafeName(name)).toBe(expected);
  });

  it('folds composed and decomposed accents alike', () => {
    expect(fileSafeName('Ge\u0301ne\u0301rale')).toBe('Generale');
    expect(fileSafeName('G\u00e9n\u00e9rale')).toBe('Generale');
  });

  it('leaves nothing of a name without letters or digits', () => {
    expect(fileSafeName('--- ---')).toBe('');
    expect(fileSafeName('')).toBe('');
  });
});

describe('nameEntities', () => {
  it('names every entity in order', () => {
    expect(
      nameEntities(
        [
          { id: 1, name: 'First National Bank' },
          { id: 3, name: 'Société Générale' },
        ],
        'bank',
      ),
    ).toEqual([
      { id: 1, name: 'First National Bank', fileName: 'FirstNationalBank' },
      { id: 3, name: 'Société Générale', fileName: 'SocieteGenerale' },
    ]);
  });

  it('refuses two banks that fold to the same name, naming both', () => {
    const run = () =>
      nameEntities(
        [
          { id: 1, name: 'First National Bank' },
          { id: 2, name: 'Nedbank' },
          { id: 7, name: 'First-National Bank' },
        ],
        'bank',
      );
    expect(run).toThrow(EntityNamingError);
    expect(run).toThrow(/bank 1 "First National Bank" and bank 7 "First-National Bank" all become "FirstNationalBank"/);
  });

  it('refuses names that differ only in letter case (case-insensitive file systems would merge them)', () => {
    expect(() =>
      nameEntities(
        [
          { id: 1, name: 'ABSA' },
          { id: 2, name: 'Absa' },
        ],
        'bank',
      ),
    ).toThrow(/bank 1 "ABSA" and bank 2 "Absa"/);
  });

  it('refuses a name that folds to nothing, and reports every problem at once', () => {
    let error: unknown;
    try {
      nameEntities(
        [
          { id: 4, name: '***' },
          { id: 5, name: '' },
          { id: 1, name: 'Société Générale' },
          { id: 2, name: 'Societe Generale' },
        ],
        'bank',
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EntityNamingError);
    const message = (error as Error).message;
    expect((error as Error).name).toBe('EntityNamingError');
    expect(message).toContain('bank 4 "***" has no letter or digit');
    expect(message).toContain('bank 5 "" has no letter or digit');
    expect(message).toContain('bank 1 "Société Générale" and bank 2 "Societe Generale"');
    expect(message).toContain('nothing was published');
    expect(message).toContain('Correct the bank names in the ODS');
  });

  it('names the entity by the word it is given', () => {
    expect(() =>
      nameEntities(
        [
          { id: 7, name: '12 Main Road' },
          { id: 8, name: '12 Main  Road' },
        ],
        'branch',
      ),
    ).toThrow(/The branch names cannot be turned into distinct file names, so nothing was published: branch 7 "12 Main Road" and branch 8 "12 Main {2}Road" all become "12MainRoad"/);
  });
});
