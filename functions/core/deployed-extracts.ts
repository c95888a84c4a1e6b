/**
 * The extracts' definitions as deployed: the glue-assets plugin uploads each extract folder to the
 * scripts bucket at `extracts/<id>/<file>`, so a run reads the definition deployed with its code
 * (docs/new-extract.md). The local runner puts the chosen extract's files at the same keys.
 */
import { InvalidInputError } from './errors';
import { parseDefinitionText, type ExtractDefinition } from './extract-definition';
import { readText, type ObjectStore } from './object-store';

/** Where an extract's folder is deployed in the scripts bucket: the same path as in the repository. */
export function extractFolderKey(extractId: string): string {
  return `extracts/${extractId}/`;
}

/** The definition's key in the scripts bucket. */
export function definitionKey(extractId: string): string {
  return `${extractFolderKey(extractId)}extract.json`;
}

/** Reads definitions by id; the Lambdas read them from the scripts bucket (readDeployedExtract). */
export type ExtractDefinitions = (extractId: string) => Promise<ExtractDefinition>;

/**
 * The deployed definition of `extractId`, checked as at package time. An id with no definition is
 * the operator's mistake (InvalidInput naming `extract`); a definition that does not parse is a
 * deployment's (ExtractDefinitionError naming each field), and retrying cannot fix either.
 */
export async function readDeployedExtract(store: ObjectStore, extractId: string): Promise<ExtractDefinition> {
  const key = definitionKey(extractId);
  if (!(await store.head(key))) {
    throw new InvalidInputError('extract', `no extract ${extractId} is deployed (there is no ${key} in the scripts bucket)`);
  }
  return parseDefinitionText(await readText(store, key), extractId, key);
}

/**
 * Definitions read from `store` at each call, never kept between invocations: a deploy can change a
 * definition in the bucket without replacing a warm Lambda, and a run must use the deployed one.
 */
export function deployedExtracts(store: ObjectStore): ExtractDefinitions {
  return (extractId) => readDeployedExtract(store, extractId);
}
