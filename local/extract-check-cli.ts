/**
 * `npm run extract:check [-- <id>...] [--ods postgres://...]`: checks extract folders before anything
 * runs (docs/new-extract.md). Each definition is parsed with its folder (extracts/folders.ts: the
 * field rules of functions/core/extract-definition.ts, the SQL files present, ids and keys that do
 * not clash between extracts), then its SQL is bound against its source model and the source model
 * against the ODS (local/extract-check.ts). No id: every extract of extracts/ and EXTRACTS_PATH.
 *
 * Prints one ✔ line per extract with its settings (so this is also the list of what is deployed), or
 * every problem, each naming the field; exits 1 on any problem.
 */
import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { InvalidInputError } from '../functions/core/errors';
import { ExtractDefinitionError } from '../functions/core/extract-definition';
import { REPOSITORY_ROOT, findExtract, loadExtracts, type ExtractFolder } from '../extracts/folders';
import { parsePostgresUrl, redactUrl, reportFailure } from './cli-options';
import { extractProblems, odsColumnsBySchema, type OdsSchemaSource } from './extract-check';

function parseCommand(args: string[]): { ids: string[]; ods: OdsSchemaSource } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ods: { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new InvalidInputError('arguments', `${(error as Error).message}; usage: npm run extract:check -- [<id>...] [--ods postgres://...]`);
  }
  const url = parsePostgresUrl(parsed.values.ods, 'ods');
  return { ids: parsed.positionals, ods: url === undefined ? 'sample' : { url } };
}

/** The folders to check, or the definition problems that stop them being read. */
function load(ids: readonly string[]): { folders: ExtractFolder[]; failures: ExtractDefinitionError[] } {
  const folders: ExtractFolder[] = [];
  const failures: ExtractDefinitionError[] = [];
  const attempt = (read: () => ExtractFolder[]) => {
    try {
      folders.push(...read());
    } catch (error) {
      if (!(error instanceof ExtractDefinitionError)) throw error;
      failures.push(error);
    }
  };
  if (ids.length === 0) attempt(() => loadExtracts());
  for (const id of ids) attempt(() => [findExtract(id)]);
  return { folders, failures };
}

function summary(folder: ExtractFolder): string {
  const d = folder.definition;
  const fromRoot = relative(REPOSITORY_ROOT, folder.dir);
  return [
    `✔ ${d.id}  (${fromRoot === '' || fromRoot.startsWith('..') ? folder.dir : fromRoot})`,
    `    ${d.schedule.cron} ${d.schedule.timeZone}; one file per ${d.output.splitBy.entity}: ${d.output.keys.file}`,
    `    manifest ${d.output.keys.manifest}${d.output.keys.analytics ? `; analytics ${d.output.keys.analytics}` : ''}; failures to ${d.recipients.join(', ')}`,
  ].join('\n');
}

function printProblems(id: string, problems: readonly string[]): void {
  console.log(`✖ ${id}`);
  for (const problem of problems) console.log(`    ${problem}`);
}

async function main(): Promise<void> {
  const { ids, ods } = parseCommand(process.argv.slice(2));
  const { folders, failures } = load(ids);
  for (const failure of failures) printProblems(failure.extractId, failure.problems);
  const where = ods === 'sample' ? 'the sample ODS schema (local/sample/ods-schema.sql)' : `the ODS at ${redactUrl(ods.url)}`;
  const columns = await odsColumnsBySchema(ods, folders.map((f) => f.definition.source.schema));
  let failed = failures.length;
  for (const folder of folders) {
    const problems = await extractProblems(folder, { columns: columns.get(folder.definition.source.schema) ?? [], where });
    if (problems.length > 0) {
      failed += 1;
      printProblems(folder.definition.id, problems);
    } else {
      console.log(summary(folder));
    }
  }
  if (failed > 0) {
    console.log(`\n${failed} extract${failed === 1 ? '' : 's'} with problems`);
    process.exitCode = 1;
  } else {
    console.log(`\n${folders.length} extract${folders.length === 1 ? '' : 's'} checked: definition, SQL against the source model, source model against ${where}`);
  }
}

main().catch(reportFailure);
