/**
 * What makes an extract this extract (docs/new-extract.md): the definition file `extract.json` in
 * the extract's folder (`extracts/<id>/`). The pipeline is generic; everything below is data:
 * schedule and time zone, recipients, the ODS columns read, the SQL files, the output columns, the
 * entity that splits the month into files, and the keys those files are published under.
 *
 * The one schema of a definition, checked field by field (zod) and then across fields
 * (`definitionProblems`), so a mistake is refused before anything runs, naming the field. Plain
 * data: ResolveRun puts the parsed definition on the run, and every later Lambda takes it from there,
 * so the Lambdas of one run use one definition even if a deploy lands meanwhile. The Glue job does
 * not: it reads extract.json and the SQL from the deployed files (its --extra-files) when it starts,
 * so a deploy between ResolveRun and the job's start gives the job the new files.
 */
import { z } from 'zod';
import { scheduleProblems } from './extract-schedule';
import type { MonthWindow } from './month';

/** Column type families of the ODS (information_schema types accepted for each in `typeFamilies`). */
export const SOURCE_TYPE_FAMILIES = ['integer', 'text', 'date'] as const;
export type SourceTypeFamily = (typeof SOURCE_TYPE_FAMILIES)[number];

/**
 * Output column types, as the publish step checks each field: `integer` a whole number, `count` a
 * whole number ≥ 0, `decimal2` a number with exactly two decimals, `month` `YYYY-MM`, `date`
 * `YYYY-MM-DD`, `text` anything (NULL is an empty field).
 */
export const OUTPUT_TYPES = ['text', 'integer', 'count', 'decimal2', 'month', 'date'] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier (a-z, 0-9, _)');
const relativeSqlFile = z
  .string()
  .regex(/^[A-Za-z0-9_./-]+\.sql$/, 'must be a .sql file in the extract folder')
  .refine((path) => !path.split('/').includes('..') && !path.startsWith('/'), 'must stay inside the extract folder');

const sourceTableSchema = z.strictObject({
  columns: z.record(identifier, z.enum(SOURCE_TYPE_FAMILIES)).refine((c) => Object.keys(c).length > 0, 'must name at least one column'),
  /** Only rows with this column in the window (or NULL) are read, through the window read. */
  windowColumn: identifier.optional(),
  /** Read through the window read: only the rows it references, keyed by this column of the read. */
  keyInRead: identifier.optional(),
});

export const sourceModelSchema = z.strictObject({
  schema: identifier,
  tables: z.record(identifier, sourceTableSchema).refine((t) => Object.keys(t).length > 0, 'must name at least one table'),
  /** One query pushed down to PostgreSQL that reads the windowed table and the tables it references. */
  windowRead: z
    .strictObject({
      sql: relativeSqlFile,
      columns: z.record(identifier, z.enum(SOURCE_TYPE_FAMILIES)),
    })
    .optional(),
});

const outputColumnSchema = z.strictObject({ name: identifier, type: z.enum(OUTPUT_TYPES) });

/** Published keys: literal text and {tokens}; see KEY_TOKENS. */
const keyPattern = z.string().min(1);

export const extractDefinitionSchema = z
  .strictObject({
    $comment: z.string().optional(),
    /** Names the folder, the ledger records, the Glue job and the schedule: lower-case, digits and dashes. */
    id: z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be lower-case words of a-z and 0-9 joined by single dashes').max(40),
    description: z.string().min(1),
    schedule: z.strictObject({
      /** EventBridge Scheduler cron: `cron(minutes hours day-of-month month day-of-week year)`, in timeZone; monthly (core/extract-schedule). */
      cron: z.string(),
      /** IANA time zone of the schedule and of the calendar: the extract month is the last complete one there. */
      timeZone: z.string(),
    }),
    /** Emailed when a run of this extract fails (besides the stage's support address). */
    recipients: z.array(z.email()).min(1),
    /**
     * Optional: `{"sftp": true}` puts the extract's files and manifests in the external system's SFTP
     * access (resources/sftp.yml); absent or false, that user can read none of them.
     */
    delivery: z.strictObject({ sftp: z.boolean().optional() }).optional(),
    source: sourceModelSchema,
    sql: z.strictObject({
      /** The rows: the split entity's id column first, then the output columns in order. */
      rows: relativeSqlFile,
      /** Optional: (reason, row_count) of source rows left out, for the manifest's rowsRejected. */
      rejected: relativeSqlFile.optional(),
      /** Every entity that gets a file each month, even with no rows: (id, name). */
      entities: relativeSqlFile,
    }),
    output: z.strictObject({
      columns: z.array(outputColumnSchema).min(1),
      splitBy: z.strictObject({
        /** What one file holds, in words (`bank`, `branch`): for messages. */
        entity: identifier,
        /** The rows query's first column: which entity a row belongs to; not published. */
        idColumn: identifier,
        /** An output column every row must carry the entity's name in (optional). */
        nameColumn: identifier.optional(),
      }),
      /** An integer output column each file is sorted by, one row per value. */
      orderBy: identifier,
      /** An output column every row must carry the month (`YYYY-MM`) in (optional). */
      monthColumn: identifier.optional(),
      /** Integer or count columns summed per file into the manifest's controlTotals. */
      controlTotals: z.array(identifier),
      keys: z.strictObject({
        /** Each entity's CSV: under `extracts/`, ends `.csv`, names the entity and the month. */
        file: keyPattern,
        /** The month's manifest: under `extracts/`, ends `.json`, names the month, not an entity. */
        manifest: keyPattern,
        /** Optional Parquet copy of each file for the analysts' Athena table: under `analytics/`, ends `.parquet`. */
        analytics: keyPattern.optional(),
      }),
      /** The names of a manifest file entry's entity id and name fields (`bankId`, `bankName`). */
      manifestFields: z.strictObject({ id: z.string().regex(/^[a-z][A-Za-z0-9]*$/), name: z.string().regex(/^[a-z][A-Za-z0-9]*$/) }),
    }),
  })
  .readonly();

export type ExtractDefinition = z.infer<typeof extractDefinitionSchema>;
export type SourceModelDefinition = z.infer<typeof sourceModelSchema>;
export type OutputColumn = z.infer<typeof outputColumnSchema>;

/** A definition that cannot be used; `problems` name each field (`output.keys.file: …`). */
export class ExtractDefinitionError extends Error {
  override readonly name = 'ExtractDefinitionError';
  constructor(
    readonly extractId: string,
    readonly problems: readonly string[],
  ) {
    super(`extract ${extractId}: ${problems.join('; ')}`);
  }
}

/**
 * The definition checked field by field, then across fields; throws ExtractDefinitionError listing
 * every problem. `where` names the definition in the message when its id cannot be read.
 */
export function parseExtractDefinition(value: unknown, where: string): ExtractDefinition {
  const parsed = extractDefinitionSchema.safeParse(value);
  if (!parsed.success) {
    const id = typeof (value as { id?: unknown })?.id === 'string' ? (value as { id: string }).id : where;
    throw new ExtractDefinitionError(
      id,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(definition)'}: ${issue.message}`),
    );
  }
  const problems = definitionProblems(parsed.data);
  if (problems.length > 0) throw new ExtractDefinitionError(parsed.data.id, problems);
  return parsed.data;
}

/**
 * An extract.json's text as a checked definition of the extract whose folder it is in (on disk or
 * in the scripts bucket): JSON, the definition's checks, and its id equal to the folder's name.
 * `where` (the file) is named in the messages.
 */
export function parseDefinitionText(text: string, expectedId: string, where: string): ExtractDefinition {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ExtractDefinitionError(expectedId, [`${where}: cannot be read as JSON (${(error as Error).message})`]);
  }
  const definition = parseExtractDefinition(value, expectedId);
  if (definition.id !== expectedId) throw new ExtractDefinitionError(expectedId, [`id: ${definition.id} is not the folder's name ${expectedId} (${where})`]);
  return definition;
}

// --- keys -----------------------------------------------------------------------------------------

/** Every extract's files and manifests are under it (the checks below hold each key pattern to it); SFTP's `/`. */
export const EXTRACTS_PREFIX = 'extracts/';
/** The analysts' Parquet copies of published files (resources/analytics.yml reads them with Athena). */
const ANALYTICS_PREFIX = 'analytics/';

/**
 * The tokens of a key pattern. `{name}` is the entity's name folded to A-Z a-z 0-9 (core/entity-naming),
 * `{id}` its id; `{yyyy}`, `{mm}` the extract month; `{yyyymmdd}` its last day (the contract's file date).
 */
export const KEY_TOKENS = ['name', 'id', 'yyyy', 'mm', 'yyyymmdd'] as const;
export type KeyToken = (typeof KEY_TOKENS)[number];

/** Literal text a key may hold: what S3, SFTP clients and Windows all take without quoting. */
const KEY_LITERAL = /^[A-Za-z0-9_=./-]*$/;
const TOKEN = /\{([^{}]*)\}/g;

export type KeyMonth = Pick<MonthWindow, 'year' | 'monthOfYear' | 'fileDate'>;

export interface KeyEntity {
  /** File-safe (A-Z a-z 0-9), from core/entity-naming's folding. */
  readonly fileName: string;
  readonly id: number;
}

/** A key pattern with its tokens filled in. The pattern was checked when the definition was parsed. */
export function renderKey(pattern: string, month: KeyMonth, entity?: KeyEntity): string {
  return pattern.replace(TOKEN, (_, token: string) => {
    switch (token as KeyToken) {
      case 'yyyy':
        return month.year;
      case 'mm':
        return month.monthOfYear;
      case 'yyyymmdd':
        return month.fileDate;
      case 'name':
      case 'id': {
        if (!entity) throw new Error(`key pattern ${pattern} names an entity, and none was given`);
        // A guard, not validation: names come from fileSafeName, and a bad one must never reach S3.
        if (token === 'name' && !/^[A-Za-z0-9]+$/.test(entity.fileName)) {
          throw new Error(`"${entity.fileName}" is not a file-safe name (A-Z a-z 0-9 only)`);
        }
        return token === 'name' ? entity.fileName : String(entity.id);
      }
      default:
        throw new Error(`key pattern ${pattern} has an unknown token {${token}}`);
    }
  });
}

/** The tokens a pattern uses, in order, and the literal text between them. */
function patternParts(pattern: string): { tokens: string[]; literals: string[] } {
  const tokens = [...pattern.matchAll(TOKEN)].map((m) => m[1]!);
  return { tokens, literals: pattern.split(TOKEN).filter((_, i) => i % 2 === 0) };
}

/** The fixed text every key of the pattern starts with (up to its first token). */
export function keyPatternPrefix(pattern: string): string {
  const at = pattern.indexOf('{');
  return at < 0 ? pattern : pattern.slice(0, at);
}

interface PatternRule {
  readonly field: string;
  readonly prefix: string;
  readonly extension: string;
  readonly entity: 'required' | 'forbidden';
}

function keyPatternProblems(pattern: string, rule: PatternRule): string[] {
  const problems: string[] = [];
  const say = (message: string) => problems.push(`${rule.field}: ${message}`);
  const { tokens, literals } = patternParts(pattern);
  const unknown = tokens.filter((t) => !(KEY_TOKENS as readonly string[]).includes(t));
  if (unknown.length > 0) say(`unknown token ${unknown.map((t) => `{${t}}`).join(', ')}; tokens are ${KEY_TOKENS.map((t) => `{${t}}`).join(' ')}`);
  if (/[{}]/.test(literals.join(''))) say('has an unmatched { or }');
  const badLiteral = literals.find((l) => !KEY_LITERAL.test(l.replace(/[{}]/g, '')));
  if (badLiteral !== undefined) {
    say(`literal text ${JSON.stringify(badLiteral)} holds characters other than A-Z a-z 0-9 _ = . / - (they would be folded or quoted)`);
  }
  if (!pattern.startsWith(rule.prefix)) say(`must start with ${rule.prefix}`);
  if (!pattern.endsWith(rule.extension)) say(`must end with ${rule.extension}`);
  if (pattern.includes('//') || pattern.split('/').some((segment) => segment === '.' || segment === '..')) {
    say('has an empty, . or .. path segment');
  }
  const fileName = pattern.slice(pattern.lastIndexOf('/') + 1);
  const stem = fileName.slice(0, fileName.length - rule.extension.length);
  if (stem.replace(TOKEN, 'x').replace(/[^A-Za-z0-9]/g, '') === '') {
    say('its file name folds to nothing: it needs a token or a letter or digit before the extension');
  }
  // {name}{id} or {id}{id}: two tokens of any length side by side can read the same for two entities
  // (ids 1 and 12 with names "2Bank" and "Bank"); the date tokens have fixed lengths.
  if (/\{(name|id)\}\{(name|id)\}/.test(pattern)) say('runs {name} and {id} together: two entities could get the same key; put a literal between them');
  const named = tokens.includes('name') || tokens.includes('id');
  const namesMonth = tokens.includes('yyyymmdd') || (tokens.includes('yyyy') && tokens.includes('mm'));
  if (!namesMonth) say('does not name the month ({yyyymmdd}, or {yyyy} and {mm}): every month would write the same key');
  if (rule.entity === 'required') {
    const fileNamed = patternParts(fileName).tokens.some((t) => t === 'name' || t === 'id');
    if (!named) say('does not name the entity ({name} or {id}): every file of a month would write the same key');
    else if (!fileNamed) say('its file name does not name the entity ({name} or {id}): downloaded files would overwrite each other');
  } else if (named) {
    say('names an entity ({name} or {id}); it is one key per month');
  }
  return problems;
}

// --- cross-field rules ------------------------------------------------------------------------------

function outputProblems(output: ExtractDefinition['output']): string[] {
  const problems: string[] = [];
  const byName = new Map(output.columns.map((c) => [c.name, c]));
  if (byName.size !== output.columns.length) {
    const seen = new Set<string>();
    const repeated = output.columns.filter((c) => (seen.has(c.name) ? true : (seen.add(c.name), false))).map((c) => c.name);
    problems.push(`output.columns: ${repeated.join(', ')} appear more than once`);
  }
  if (byName.has(output.splitBy.idColumn)) {
    problems.push(`output.splitBy.idColumn: ${output.splitBy.idColumn} is an output column; the id is the rows query's first column and is not published`);
  }
  const need = (field: string, name: string | undefined, types: readonly OutputType[]) => {
    if (name === undefined) return;
    const column = byName.get(name);
    if (!column) problems.push(`${field}: ${name} is not an output column`);
    else if (!types.includes(column.type)) problems.push(`${field}: ${name} is ${column.type}; it must be ${types.join(' or ')}`);
  };
  need('output.splitBy.nameColumn', output.splitBy.nameColumn, ['text']);
  need('output.orderBy', output.orderBy, ['integer', 'count']);
  need('output.monthColumn', output.monthColumn, ['month']);
  output.controlTotals.forEach((name, i) => need(`output.controlTotals.${i}`, name, ['integer', 'count']));
  output.controlTotals.forEach((name, i) => {
    if (output.controlTotals.indexOf(name) !== i) problems.push(`output.controlTotals.${i}: ${name} is listed twice`);
  });
  if (output.manifestFields.id === output.manifestFields.name) problems.push('output.manifestFields: id and name must differ');
  const fileFields = ['key', 'rows', 'bytes', 'sha256', 'controlTotals'];
  for (const [field, value] of Object.entries(output.manifestFields)) {
    if (fileFields.includes(value)) problems.push(`output.manifestFields.${field}: ${value} is already a field of a manifest file entry`);
  }
  problems.push(
    ...keyPatternProblems(output.keys.file, { field: 'output.keys.file', prefix: EXTRACTS_PREFIX, extension: '.csv', entity: 'required' }),
    ...keyPatternProblems(output.keys.manifest, { field: 'output.keys.manifest', prefix: EXTRACTS_PREFIX, extension: '.json', entity: 'forbidden' }),
  );
  if (output.keys.analytics !== undefined) {
    problems.push(
      ...keyPatternProblems(output.keys.analytics, { field: 'output.keys.analytics', prefix: ANALYTICS_PREFIX, extension: '.parquet', entity: 'required' }),
    );
  }
  if (!keysDisjoint(output.keys.file, output.keys.manifest)) {
    problems.push('output.keys.manifest: can be the same key as output.keys.file; their fixed beginnings must differ');
  }
  return problems;
}

function sourceProblems(source: SourceModelDefinition): string[] {
  const problems: string[] = [];
  const tables = Object.entries(source.tables);
  const windowed = tables.filter(([, t]) => t.windowColumn !== undefined);
  const throughRead = tables.filter(([, t]) => t.keyInRead !== undefined);
  for (const [name, table] of windowed) {
    if (table.columns[table.windowColumn!] !== 'date') problems.push(`source.tables.${name}.windowColumn: ${table.windowColumn} must be one of its date columns`);
  }
  if ((windowed.length > 0 || throughRead.length > 0) && !source.windowRead) {
    problems.push('source.windowRead: windowColumn and keyInRead read through a window read, and there is none');
  }
  if (source.windowRead) {
    if (windowed.length !== 1) problems.push(`source.windowRead: needs exactly one table with a windowColumn, found ${windowed.length}`);
    for (const [name, table] of [...windowed, ...throughRead]) {
      const readColumns = source.windowRead.columns;
      const wanted = table.keyInRead !== undefined ? Object.keys(table.columns).slice(1) : Object.keys(table.columns);
      if (table.keyInRead !== undefined && readColumns[table.keyInRead] === undefined) {
        problems.push(`source.tables.${name}.keyInRead: ${table.keyInRead} is not a column of source.windowRead`);
      }
      for (const column of wanted.filter((c) => readColumns[c] === undefined)) {
        problems.push(`source.tables.${name}.columns.${column}: not a column of source.windowRead, which rebuilds ${name}`);
      }
    }
  }
  return problems;
}

/** Every rule a single definition must keep beyond its fields' own types. */
export function definitionProblems(definition: ExtractDefinition): string[] {
  return [...scheduleProblems(definition.schedule), ...sourceProblems(definition.source), ...outputProblems(definition.output)];
}

/**
 * Two key patterns can never produce the same key when neither's fixed beginning is a beginning of
 * the other's (they then differ at a fixed character). A sufficient rule, simple to read and to keep.
 */
export function keysDisjoint(a: string, b: string): boolean {
  const pa = keyPatternPrefix(a);
  const pb = keyPatternPrefix(b);
  return !pa.startsWith(pb) && !pb.startsWith(pa);
}

/** The problems between extracts deployed together: the same id, or keys one could write over the other's. */
export function extractSetProblems(definitions: readonly ExtractDefinition[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i < definitions.length; i++) {
    for (let j = i + 1; j < definitions.length; j++) {
      const a = definitions[i]!;
      const b = definitions[j]!;
      if (a.id === b.id) {
        problems.push(`extracts ${a.id}: two definitions have this id`);
        continue;
      }
      const keysOf = (d: ExtractDefinition) => Object.entries(d.output.keys).filter((e): e is [string, string] => e[1] !== undefined);
      for (const [fieldA, patternA] of keysOf(a)) {
        for (const [fieldB, patternB] of keysOf(b)) {
          if (!keysDisjoint(patternA, patternB)) {
            problems.push(`extract ${b.id}: output.keys.${fieldB} can write the same keys as extract ${a.id}'s output.keys.${fieldA}; their fixed beginnings must differ`);
          }
        }
      }
    }
  }
  return problems;
}
