/**
 * The bank part of extract file names (contract section 3): accents folded to ASCII, then every
 * character other than A-Z a-z 0-9 removed. This is the one place that turns a bank name into a name.
 */
import { BankNamingError } from './errors';
import type { StagedBank } from './staging-layout';

/**
 * Latin letters that NFKD does not decompose (they are letters of their own, not letter + accent),
 * folded the way a person would spell them in ASCII, so `Ørsted Bank` is not published as `rstedBank`.
 */
const LETTERS_WITHOUT_DECOMPOSITION: Readonly<Record<string, string>> = {
  ß: 'ss',
  ẞ: 'SS',
  Æ: 'AE',
  æ: 'ae',
  Œ: 'OE',
  œ: 'oe',
  Ø: 'O',
  ø: 'o',
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  Ð: 'D',
  ð: 'd',
  Þ: 'Th',
  þ: 'th',
  ı: 'i',
  Ħ: 'H',
  ħ: 'h',
};

const NOT_DECOMPOSABLE = new RegExp(`[${Object.keys(LETTERS_WITHOUT_DECOMPOSITION).join('')}]`, 'gu');

/** `Société Générale` → `SocieteGenerale`; may return '' (the caller refuses that). */
export function fileSafeBankName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(NOT_DECOMPOSABLE, (letter) => LETTERS_WITHOUT_DECOMPOSITION[letter] ?? '')
    .replace(/[^A-Za-z0-9]/g, '');
}

export interface NamedBank {
  readonly bankId: number;
  /** `bank.name` as stored. */
  readonly bankName: string;
  /** The file-safe name used in keys and file names. */
  readonly fileName: string;
}

/**
 * Names every staged bank, or throws one BankNamingError listing every bank that cannot be named:
 * a name that folds to nothing, or two banks whose names fold to the same name. Names that differ
 * only in letter case also collide: consumers download the files to case-insensitive file systems.
 */
export function nameBanks(banks: readonly StagedBank[]): NamedBank[] {
  const named = banks.map((b) => ({ bankId: b.bank_id, bankName: b.bank_name, fileName: fileSafeBankName(b.bank_name) }));
  const problems: string[] = [];

  for (const bank of named.filter((b) => b.fileName === '')) {
    problems.push(`bank ${describe(bank)} has no letter or digit left after folding to A-Z a-z 0-9`);
  }
  const byName = new Map<string, NamedBank[]>();
  for (const bank of named.filter((b) => b.fileName !== '')) {
    const key = bank.fileName.toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), bank]);
  }
  for (const group of byName.values()) {
    if (group.length > 1) {
      problems.push(`banks ${group.map(describe).join(' and ')} all become "${group[0]!.fileName}" (letter case ignored)`);
    }
  }
  if (problems.length > 0) {
    throw new BankNamingError(
      `Bank names cannot be turned into distinct file names, so nothing was published: ${problems.join('; ')}. ` +
        'Correct bank.name in the ODS, then re-run the month.',
    );
  }
  return named;
}

function describe(bank: NamedBank): string {
  return `${bank.bankId} ${JSON.stringify(bank.bankName)}`;
}
