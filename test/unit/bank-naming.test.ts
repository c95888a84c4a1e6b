import { fileSafeBankName, nameBanks } from '../../functions/core/bank-naming';
import { BankNamingError } from '../../functions/core/errors';

describe('fileSafeBankName', () => {
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
    expect(fileSafeBankName(name)).toBe(expected);
  });

  it('folds composed and decomposed accents alike', () => {
    expect(fileSafeBankName('Ge\u0301ne\u0301rale')).toBe('Generale');
    expect(fileSafeBankName('G\u00e9n\u00e9rale')).toBe('Generale');
  });

  it('leaves nothing of a name without letters or digits', () => {
    expect(fileSafeBankName('--- ---')).toBe('');
    expect(fileSafeBankName('')).toBe('');
  });
});

describe('nameBanks', () => {
  it('names every bank in order', () => {
    expect(
      nameBanks([
        { bank_id: 1, bank_name: 'First National Bank' },
        { bank_id: 3, bank_name: 'Société Générale' },
      ]),
    ).toEqual([
      { bankId: 1, bankName: 'First National Bank', fileName: 'FirstNationalBank' },
      { bankId: 3, bankName: 'Société Générale', fileName: 'SocieteGenerale' },
    ]);
  });

  it('refuses two banks that fold to the same name, naming both', () => {
    const run = () =>
      nameBanks([
        { bank_id: 1, bank_name: 'First National Bank' },
        { bank_id: 2, bank_name: 'Nedbank' },
        { bank_id: 7, bank_name: 'First-National Bank' },
      ]);
    expect(run).toThrow(BankNamingError);
    expect(run).toThrow(/1 "First National Bank" and 7 "First-National Bank" all become "FirstNationalBank"/);
  });

  it('refuses names that differ only in letter case (case-insensitive file systems would merge them)', () => {
    expect(() =>
      nameBanks([
        { bank_id: 1, bank_name: 'ABSA' },
        { bank_id: 2, bank_name: 'Absa' },
      ]),
    ).toThrow(/1 "ABSA" and 2 "Absa"/);
  });

  it('refuses a name that folds to nothing, and reports every problem at once', () => {
    let error: unknown;
    try {
      nameBanks([
        { bank_id: 4, bank_name: '***' },
        { bank_id: 5, bank_name: '' },
        { bank_id: 1, bank_name: 'Société Générale' },
        { bank_id: 2, bank_name: 'Societe Generale' },
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BankNamingError);
    const message = (error as Error).message;
    expect((error as Error).name).toBe('BankNamingError');
    expect(message).toContain('bank 4 "***" has no letter or digit');
    expect(message).toContain('bank 5 "" has no letter or digit');
    expect(message).toContain('1 "Société Générale" and 2 "Societe Generale"');
    expect(message).toContain('nothing was published');
  });
});
