/**
 * Extract folders on disk (docs/new-extract.md): `<root>/<id>/extract.json` and the SQL files it
 * names. Read by the local runner, `npm run extract:check`, packaging (scripts/extract-stack.ts) and
 * the tests; deployed runs read the same files from the scripts bucket.
 *
 * Roots: this folder, then each folder of EXTRACTS_PATH (`:`-separated), so an extract that lives
 * elsewhere (a test fixture) is found without being copied here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import {
  ExtractDefinitionError,
  extractSetProblems,
  parseDefinitionText,
  type ExtractDefinition,
} from '../functions/core/extract-definition';

export const DEFINITION_FILE = 'extract.json';
/**
 * The files every extract's Glue job takes besides its folder's (glue/README.md), repository paths
 * that are also their keys in the scripts bucket: the deployed jobs' --extra-files, the glue-assets
 * plugin's uploads and the local Spark runner all take them from here.
 */
export const SHARED_GLUE_FILES = ['glue/extract-layout.json', 'glue/rds-ca-bundle.pem'] as const;
export const REPOSITORY_ROOT = resolve(__dirname, '..');
/** The extract every command runs when none is named: the contract's loan extract. */
export { DEFAULT_EXTRACT_ID } from '../functions/core/extract-id';

/** The SQL of an extract as every engine runs it: a trailing semicolon would end a statement the engines wrap. */
export interface ExtractSql {
  readonly rows: string;
  readonly rejected?: string;
  readonly entities: string;
  readonly windowRead?: string;
}

export interface ExtractFolder {
  readonly dir: string;
  readonly definition: ExtractDefinition;
  readonly sql: ExtractSql;
  /** Paths relative to `dir` of every file the extract needs at run time (definition and SQL). */
  readonly files: readonly string[];
}

/** The folders extracts are looked for in, in order. */
export function extractRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.EXTRACTS_PATH ?? '')
    .split(delimiter)
    .filter((p) => p.trim() !== '')
    .map((p) => (isAbsolute(p) ? p : resolve(REPOSITORY_ROOT, p)));
  return [__dirname, ...extra];
}

/** The ids of every extract folder in extractRoots(env), sorted. */
export function extractIds(env: NodeJS.ProcessEnv = process.env): string[] {
  return extractRoots(env).flatMap(folderIds);
}

function folderIds(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory() && existsSync(join(root, name, DEFINITION_FILE)))
    .sort();
}

/** Reads and checks one extract folder; throws ExtractDefinitionError naming every problem. */
export function loadExtractFolder(dir: string): ExtractFolder {
  const folderId = dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;
  const definition = parseDefinitionText(readFileSync(join(dir, DEFINITION_FILE), 'utf8'), folderId, DEFINITION_FILE);
  const problems: string[] = [];
  const read = (field: string, file: string | undefined): string | undefined => {
    if (file === undefined) return undefined;
    const path = join(dir, file);
    if (!existsSync(path)) {
      problems.push(`${field}: ${file} is not in ${dir}`);
      return '';
    }
    return readFileSync(path, 'utf8').trim().replace(/;$/, '');
  };
  const sql = {
    rows: read('sql.rows', definition.sql.rows)!,
    entities: read('sql.entities', definition.sql.entities)!,
    ...(definition.sql.rejected !== undefined ? { rejected: read('sql.rejected', definition.sql.rejected)! } : {}),
    ...(definition.source.windowRead ? { windowRead: read('source.windowRead.sql', definition.source.windowRead.sql)! } : {}),
  };
  const files = [
    DEFINITION_FILE,
    definition.sql.rows,
    definition.sql.entities,
    ...(definition.sql.rejected !== undefined ? [definition.sql.rejected] : []),
    ...(definition.source.windowRead ? [definition.source.windowRead.sql] : []),
  ];
  // Glue puts --extra-files side by side in the job's working directory: one name, one file.
  const byBaseName = new Map<string, string[]>();
  for (const file of new Set(files)) byBaseName.set(basename(file), [...(byBaseName.get(basename(file)) ?? []), file]);
  for (const [name, paths] of byBaseName) {
    if (paths.length > 1) problems.push(`sql: ${paths.join(' and ')} share the file name ${name}; Glue puts them in one folder`);
  }
  if (problems.length > 0) throw new ExtractDefinitionError(definition.id, problems);
  return { dir, definition, sql, files: [...new Set(files)] };
}

/** Every extract in the roots, checked one by one and together (ids and keys must not clash). */
export function loadExtracts(env: NodeJS.ProcessEnv = process.env): ExtractFolder[] {
  const folders = extractRoots(env).flatMap((root) => folderIds(root).map((id) => loadExtractFolder(join(root, id))));
  const problems = extractSetProblems(folders.map((f) => f.definition));
  if (problems.length > 0) throw new ExtractDefinitionError('(all extracts)', problems);
  return folders;
}

/** One extract by id, from the first root that has it; an unknown id names the ones there are. */
export function findExtract(id: string, env: NodeJS.ProcessEnv = process.env): ExtractFolder {
  for (const root of extractRoots(env)) {
    if (folderIds(root).includes(id)) return loadExtractFolder(join(root, id));
  }
  throw new ExtractDefinitionError(id, [unknownExtractProblem(id, env)]);
}

/** Why `id` names no extract: where it was looked for, and what is there. */
export function unknownExtractProblem(id: string, env: NodeJS.ProcessEnv = process.env): string {
  return `no folder ${id}/${DEFINITION_FILE} in ${extractRoots(env).join(', ')}; extracts there: ${extractIds(env).join(', ') || 'none'}`;
}
