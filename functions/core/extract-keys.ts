/**
 * Where published files live in the extract bucket: an extract's keys come from its definition's
 * key patterns (`output.keys`, rendered by core/extract-definition.ts's renderKey), so publishing,
 * the manifest, tests and the local runner all take them from here and never spell one out.
 */
import { keyPatternPrefix, renderKey, type ExtractDefinition, type KeyEntity, type KeyMonth } from './extract-definition';

export { EXTRACTS_PREFIX } from './extract-definition';

export type { KeyEntity, KeyMonth } from './extract-definition';

type Keyed = Pick<ExtractDefinition, 'output'>;

/** One entity's CSV of the month (`extracts/bank_name=<Bank>/year=<YYYY>/month=<MM>/<Bank>_<YYYYMMDD>.csv` for the loan extract). */
export function extractFileKey(definition: Keyed, month: KeyMonth, entity: KeyEntity): string {
  return renderKey(definition.output.keys.file, month, entity);
}

/** The same rows as Parquet, or undefined for an extract without `output.keys.analytics`. */
export function analyticsFileKey(definition: Keyed, month: KeyMonth, entity: KeyEntity): string | undefined {
  const pattern = definition.output.keys.analytics;
  return pattern === undefined ? undefined : renderKey(pattern, month, entity);
}

/** The month's manifest (`extracts/_manifests/year=<YYYY>/month=<MM>/manifest.json` for the loan extract). */
export function manifestKey(definition: Keyed, month: KeyMonth): string {
  return renderKey(definition.output.keys.manifest, month);
}

/**
 * Whether an extract's keys hold entity names: then every entity must fold to a distinct, non-empty
 * file name (core/entity-naming.ts); keys by `{id}` alone need no naming, and its rules do not apply.
 */
export function keysUseEntityNames(definition: Keyed): boolean {
  const { file, analytics } = definition.output.keys;
  return [file, analytics].some((pattern) => pattern !== undefined && pattern.includes('{name}'));
}

/** Whether the external system's SFTP user may read the extract's files and manifests (`delivery.sftp`). */
export function deliveredBySftp(definition: Pick<ExtractDefinition, 'delivery'>): boolean {
  return definition.delivery?.sftp === true;
}

/**
 * The fixed beginnings of every key the SFTP user may read: each opted-in extract's file and
 * manifest prefix. Different extracts' prefixes never begin one another (extractSetProblems), so
 * `<prefix>*` covers one extract's keys and no other's.
 */
export function sftpKeyPrefixes(definitions: readonly Pick<ExtractDefinition, 'delivery' | 'output'>[]): string[] {
  const prefixes = definitions.filter(deliveredBySftp).flatMap((d) => [keyPatternPrefix(d.output.keys.file), keyPatternPrefix(d.output.keys.manifest)]);
  return [...new Set(prefixes)];
}
