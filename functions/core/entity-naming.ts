/**
 * The entity part of published keys (the `{name}` token of a key pattern; contract section 3 for
 * the loan extract's banks): accents folded to ASCII, then every character other than A-Z a-z 0-9
 * removed. This is the one place that turns an entity's stored name into a file name.
 */
import { EntityNamingError } from './errors';
import type { StagedEntity } from './staging-layout';

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
export function fileSafeName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(NOT_DECOMPOSABLE, (letter) => LETTERS_WITHOUT_DECOMPOSITION[letter] ?? '')
    .replace(/[^A-Za-z0-9]/g, '');
}

export interface NamedEntity {
  readonly id: number;
  /** The name as stored (the entities query's `name`). */
  readonly name: string;
  /** The file-safe name used in keys and file names. */
  readonly fileName: string;
}

/**
 * Names every staged entity, or throws one EntityNamingError listing every entity that cannot be
 * named: a name that folds to nothing, or two entities whose names fold to the same name. Names that
 * differ only in letter case also collide: consumers download the files to case-insensitive file
 * systems. `entityWord` is what one entity is called in messages (the definition's
 * `output.splitBy.entity`: `bank`).
 */
export function nameEntities(entities: readonly StagedEntity[], entityWord: string): NamedEntity[] {
  const named = entities.map((e) => ({ id: e.id, name: e.name, fileName: fileSafeName(e.name) }));
  const describe = (entity: NamedEntity) => `${entityWord} ${entity.id} ${JSON.stringify(entity.name)}`;
  const problems: string[] = [];

  for (const entity of named.filter((e) => e.fileName === '')) {
    problems.push(`${describe(entity)} has no letter or digit left after folding to A-Z a-z 0-9`);
  }
  const byName = new Map<string, NamedEntity[]>();
  for (const entity of named.filter((e) => e.fileName !== '')) {
    const key = entity.fileName.toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), entity]);
  }
  for (const group of byName.values()) {
    if (group.length > 1) {
      problems.push(`${group.map(describe).join(' and ')} all become "${group[0]!.fileName}" (letter case ignored)`);
    }
  }
  if (problems.length > 0) {
    throw new EntityNamingError(
      `The ${entityWord} names cannot be turned into distinct file names, so nothing was published: ${problems.join('; ')}. ` +
        `Correct the ${entityWord} names in the ODS, then re-run the month.`,
    );
  }
  return named;
}
