/**
 * Publishing one run's staging (contract section 3): the Spark part files become the extract's
 * files under their final keys, then the manifest, then staging is deleted. Everything that makes
 * it this extract (keys, columns and their types, the split entity, the manifest's field names and
 * control totals) comes from the run's definition, `run.extract`.
 *
 * Three phases, so no failure, and no crash, leaves a month half-published:
 *   1. validate everything (entity names, staging layout, every part's content) and read each chosen
 *      part once for the manifest — no final key is touched until all of it passed;
 *   2. write: first the publish journal (core/publish-journal.ts: every key and the version it
 *      replaces, in the run ledger), then a server-side copy per file (put for header-only files),
 *      the manifest last, each write atomic per object; on a failure caught here the keys are rolled
 *      back at once, and on a crash whoever acts on the month next settles the journal;
 *   3. delete staging (its failure is reported, never undoes a published month).
 * An unfinished publish of the month (this run's earlier attempt, or a dead run's) is settled first.
 */
import { createHash } from 'node:crypto';
import { CsvFormatError, scanExtractCsv, type ExtractCsvScan } from './csv-reader';
import { fileSafeName, nameEntities, type NamedEntity } from './entity-naming';
import { extractHeader } from './extract-csv';
import type { ExtractDefinition } from './extract-definition';
import { analyticsFileKey, extractFileKey, keysUseEntityNames, manifestKey } from './extract-keys';
import { manifestFileEntry, parseManifest, serializeManifest, type Manifest, type ManifestFile } from './manifest';
import { readText, type ListedObject, type ObjectStore } from './object-store';
import { PublishRollbackError, journalFor, rollBackJournal, settleUnfinishedPublish, type JournalLedger, type Settlement } from './publish-journal';
import { runUsageSchema, type EstimatedCost } from './run-cost';
import { runPayloadSchema, type RunContext } from './run-context';
import { STAGING_FOLDERS, parseAnalyticsPartKey, parseRowsPartKey, type EntityPart, type StagedEntity } from './staging-layout';

export const EXTRACT_CONTENT_TYPE = 'text/csv; charset=utf-8';
export const MANIFEST_CONTENT_TYPE = 'application/json';
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** The staging the extract job left cannot be published as it is; nothing was published. */
export class StagingError extends Error {
  override readonly name = 'StagingError';
}

export { PublishRollbackError } from './publish-journal';

export type PublishedFile = ManifestFile;

/** The PublishExtracts state's payload: the run, and what it used so far for its estimated cost (core/run-cost.ts). */
export const publishPayloadSchema = runPayloadSchema.extend({
  // Optional: an execution started before the state machine passed it still publishes, unpriced.
  usage: runUsageSchema.optional(),
});

export interface PublishResult {
  readonly month: string;
  readonly runId: string;
  readonly manifestKey: string;
  /** Sorted by key; each as in the manifest. */
  readonly files: readonly PublishedFile[];
  /** Source rows left out of the numbers, per reason (the manifest's rowsRejected), for the ledger's history. */
  readonly rowsRejected: Readonly<Record<string, number>>;
  /** The manifest's estimated cost of the run, when it has one. */
  readonly estimatedCost?: EstimatedCost;
  /** The run had already published this staging (a retried invocation): nothing was rewritten. */
  readonly alreadyPublished: boolean;
  /** What was done first about an unfinished publish of the month (a crashed attempt's). */
  readonly settled: Settlement;
  /** Cleanup comes after the month is published, so its failure is reported here rather than thrown. */
  readonly stagingCleanup: { readonly deletedObjects: number; readonly error?: string };
}

interface StagedObject extends ListedObject {
  /** Key relative to the staging prefix. */
  readonly relativeKey: string;
}

interface PlannedWrite {
  readonly key: string;
  readonly write: (store: ObjectStore) => Promise<void>;
}

interface Plan {
  readonly files: PublishedFile[];
  readonly writes: PlannedWrite[];
  readonly sourceRowsRead: Record<string, number>;
  readonly rowsRejected: Record<string, number>;
}

/**
 * `estimateCost` prices the run when the manifest is written (so publishing's own time so far is
 * in it); without it the manifest has no estimatedCost.
 */
export async function publishExtracts(
  store: ObjectStore,
  ledger: JournalLedger,
  run: RunContext,
  now: Date,
  estimateCost?: () => EstimatedCost,
): Promise<PublishResult> {
  const settled = await settleUnfinishedPublish(store, ledger, run.extract.id, run.month, now);
  const prefix = run.stagingPrefix;
  const mKey = manifestKey(run.extract, run.window);
  const listed = withoutFolderMarkers(await store.list(prefix));
  const staged: StagedObject[] = listed.map((o) => ({ ...o, relativeKey: o.key.slice(prefix.length) }));

  if (!staged.some((o) => inFolder(o.relativeKey, STAGING_FOLDERS.entities))) {
    // Cleanup deletes entities/ first, so a retried invocation after a complete publish lands here.
    const published = await readManifest(store, mKey);
    if (published?.runId === run.runId) {
      return { ...resultOf(published, mKey), alreadyPublished: true, settled, stagingCleanup: await deleteStaging(store, prefix) };
    }
    throw new StagingError(
      `No ${STAGING_FOLDERS.entities}/ list under ${prefix}: the extract job of run ${run.runId} did not finish, or wrote elsewhere. Nothing was published.`,
    );
  }

  const plan = await planPublication(store, run, staged);
  const manifest: Manifest = {
    month: run.month,
    runId: run.runId,
    generatedAt: now.toISOString(),
    sourceRowsRead: plan.sourceRowsRead,
    rowsRejected: plan.rowsRejected,
    files: plan.files,
    ...(estimateCost ? { estimatedCost: estimateCost() } : {}),
  };
  const manifestText = serializeManifest(manifest, run.extract.output);
  await writeJournaled(store, ledger, run, mKey, now, [
    ...plan.writes,
    { key: mKey, write: (s) => s.put(mKey, manifestText, MANIFEST_CONTENT_TYPE) },
  ]);

  return { ...resultOf(manifest, mKey), alreadyPublished: false, settled, stagingCleanup: await deleteStaging(store, prefix) };
}

/** Phase 1: everything that can be wrong with the staging is found here, before any final key is touched. */
async function planPublication(store: ObjectStore, run: RunContext, staged: readonly StagedObject[]): Promise<Plan> {
  const definition = run.extract;
  const { idColumn } = definition.output.splitBy;
  const entities = await readStagedEntities(store, dataObjects(staged, STAGING_FOLDERS.entities));
  const named = namedEntities(definition, entities);
  const rowsRejected = definition.sql.rejected
    ? await readCounts(store, staged, STAGING_FOLDERS.rejected, 'reason', 'row_count')
    : await noCounts(store, staged, STAGING_FOLDERS.rejected, 'the extract has no rejected SQL (sql.rejected)');
  const sourceRowsRead = await readCounts(store, staged, STAGING_FOLDERS.sourceRows, 'table', 'row_count');
  const partsByEntity = groupParts(staged, named, STAGING_FOLDERS.rows, (key) => parseRowsPartKey(idColumn, key), `${STAGING_FOLDERS.rows}/${idColumn}=<id>/part-*.csv`);
  const analyticsByEntity = groupParts(
    staged,
    named,
    STAGING_FOLDERS.analytics,
    (key) => (definition.output.keys.analytics === undefined ? null : parseAnalyticsPartKey(idColumn, key)),
    definition.output.keys.analytics === undefined
      ? 'nothing: the extract has no output.keys.analytics'
      : `${STAGING_FOLDERS.analytics}/${idColumn}=<id>/part-*.parquet`,
  );
  const header = extractHeader(definition);

  const files: PublishedFile[] = [];
  const writes: PlannedWrite[] = [];
  for (const entity of named) {
    const key = extractFileKey(definition, run.window, entity);
    const chosen = await choosePart(store, definition, entity, partsByEntity.get(entity.id) ?? [], run.month);
    if (chosen) {
      files.push(fileEntry(definition, key, entity, chosen.scan));
      writes.push({ key, write: (s) => s.copy(chosen.part.key, key, { contentType: EXTRACT_CONTENT_TYPE }) });
    } else {
      // Spark writes no part for an entity without rows; the extract still gives it a file.
      files.push(fileEntry(definition, key, entity, headerOnlyScan(definition, header)));
      writes.push({ key, write: (s) => s.put(key, header, EXTRACT_CONTENT_TYPE) });
    }
    const analyticsKey = analyticsFileKey(definition, run.window, entity);
    const analytics = chooseAnalyticsPart(definition, entity, analyticsByEntity.get(entity.id) ?? [], chosen !== undefined);
    if (analytics && analyticsKey) {
      writes.push({ key: analyticsKey, write: (s) => s.copy(analytics.key, analyticsKey, { contentType: PARQUET_CONTENT_TYPE }) });
    }
  }
  const order = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return { files: files.sort(order), writes: writes.sort(order), sourceRowsRead, rowsRejected };
}

/**
 * The entities with their file names. Names must fold to distinct file names only when the keys
 * carry them (`{name}`); keys by `{id}` are distinct by the entities' distinct ids.
 */
function namedEntities(definition: ExtractDefinition, entities: readonly StagedEntity[]): NamedEntity[] {
  if (keysUseEntityNames(definition)) return nameEntities(entities, definition.output.splitBy.entity);
  return entities.map((e) => ({ id: e.id, name: e.name, fileName: fileSafeName(e.name) }));
}

/** "Bank", for the start of a message. */
function entityWord(definition: ExtractDefinition): string {
  const word = definition.output.splitBy.entity;
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * The one part that holds an entity's rows. Empty parts (0 bytes, or the header alone) are what
 * Spark leaves for empty partitions and are ignored. Several parts with rows are refused: glue/etl.py
 * repartitions by entity so each entity is one part, and more means the job changed; joining them
 * here would have to re-sort and re-hash, and would hide that change (see docs/publishing.md).
 */
async function choosePart(
  store: ObjectStore,
  definition: ExtractDefinition,
  entity: NamedEntity,
  parts: readonly StagedObject[],
  month: string,
): Promise<{ part: StagedObject; scan: ExtractCsvScan } | undefined> {
  const withRows: Array<{ part: StagedObject; scan: ExtractCsvScan }> = [];
  for (const part of parts) {
    if (part.size === 0) continue;
    let scan: ExtractCsvScan;
    try {
      scan = await scanExtractCsv(await store.read(part.key), definition.output, { entityName: entity.name, month });
    } catch (error) {
      if (error instanceof CsvFormatError) {
        throw new StagingError(`${part.key} is not a valid extract file: ${error.message}. Nothing was published.`);
      }
      throw error;
    }
    if (scan.rows > 0) withRows.push({ part, scan });
  }
  if (withRows.length > 1) {
    throw new StagingError(
      `${entityWord(definition)} ${entity.id} ${JSON.stringify(entity.name)} has ${withRows.length} part files with rows ` +
        `(${withRows.map((p) => p.part.key).join(', ')}); the extract job must write one part per ${definition.output.splitBy.entity}. ` +
        'The job\'s partitioning has changed; fix it and re-run the month. Nothing was published.',
    );
  }
  return withRows[0];
}

/**
 * The analysts' Parquet copy of an entity's rows (resources/analytics.yml), for an extract with
 * `output.keys.analytics`: exactly one non-empty part for an entity with rows, none for one without
 * (Athena then has no rows for it, as the CSV has none). Its content is the job's; the real-Spark
 * and engine tests read it back against the CSV.
 */
function chooseAnalyticsPart(
  definition: ExtractDefinition,
  entity: NamedEntity,
  parts: readonly StagedObject[],
  hasRows: boolean,
): StagedObject | undefined {
  if (definition.output.keys.analytics === undefined) return undefined;
  const nonEmpty = parts.filter((p) => p.size > 0);
  if (hasRows && nonEmpty.length !== 1) {
    throw new StagingError(
      `${entityWord(definition)} ${entity.id} ${JSON.stringify(entity.name)} has ${nonEmpty.length} Parquet parts under ${STAGING_FOLDERS.analytics}/ ` +
        `(${nonEmpty.map((p) => p.key).join(', ') || 'none'}); the extract job writes one per ${definition.output.splitBy.entity} with rows. Nothing was published.`,
    );
  }
  if (!hasRows && nonEmpty.length > 0) {
    throw new StagingError(
      `${nonEmpty[0]!.key} holds Parquet rows for ${definition.output.splitBy.entity} ${entity.id}, whose CSV has none. Nothing was published.`,
    );
  }
  return nonEmpty[0];
}

function groupParts(
  staged: readonly StagedObject[],
  entities: readonly NamedEntity[],
  folder: string,
  parse: (relativeKey: string) => EntityPart | null,
  expected: string,
): Map<number, StagedObject[]> {
  const known = new Set(entities.map((e) => e.id));
  const byEntity = new Map<number, StagedObject[]>();
  for (const object of dataObjects(staged, folder)) {
    const part = parse(object.relativeKey);
    if (!part) {
      throw new StagingError(`Unexpected object ${object.key} in the staged ${folder} (expected ${expected}).`);
    }
    if (!known.has(part.entityId)) {
      throw new StagingError(`${object.key} holds rows for id ${part.entityId}, which is not in the staged ${STAGING_FOLDERS.entities}/ list.`);
    }
    byEntity.set(part.entityId, [...(byEntity.get(part.entityId) ?? []), object]);
  }
  return byEntity;
}

/** entities/: JSON lines `{"id": <int>, "name": <text>}`, one per entity that gets a file; sorted by id. */
async function readStagedEntities(store: ObjectStore, objects: readonly StagedObject[]): Promise<StagedEntity[]> {
  const entities: StagedEntity[] = [];
  const seen = new Set<number>();
  for (const { key, line, value } of await readJsonLines(store, objects)) {
    const id = value.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw new StagingError(`${key} line ${line}: id ${JSON.stringify(id)} is not a whole number.`);
    }
    if (seen.has(id)) throw new StagingError(`${key} line ${line}: id ${id} is listed twice.`);
    seen.add(id);
    // Spark leaves a NULL name out of the JSON line: it becomes '', which the naming rule refuses by name.
    const name = value.name ?? '';
    if (typeof name !== 'string') throw new StagingError(`${key} line ${line}: name is not a string.`);
    entities.push({ id, name });
  }
  return entities.sort((a, b) => a.id - b.id);
}

/** Sums `countField` per `nameField` over a folder of JSON lines the job must have written (it may hold no lines). */
async function readCounts(
  store: ObjectStore,
  staged: readonly StagedObject[],
  folder: string,
  nameField: string,
  countField: string,
): Promise<Record<string, number>> {
  if (!staged.some((o) => inFolder(o.relativeKey, folder))) {
    throw new StagingError(`No ${folder}/ under the staging prefix: the extract job did not finish. Nothing was published.`);
  }
  const counts: Record<string, number> = {};
  for (const { key, line, value } of await readJsonLines(store, dataObjects(staged, folder))) {
    const name = value[nameField];
    const count = value[countField];
    if (typeof name !== 'string' || typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      throw new StagingError(`${key} line ${line}: expected {"${nameField}": text, "${countField}": whole number}.`);
    }
    counts[name] = (counts[name] ?? 0) + count;
  }
  return counts;
}

/** A folder the job writes nothing into for this extract: absent, or without lines; anything in it means the job is not this extract's. */
async function noCounts(store: ObjectStore, staged: readonly StagedObject[], folder: string, why: string): Promise<Record<string, number>> {
  const records = await readJsonLines(store, dataObjects(staged, folder));
  if (records.length > 0) {
    throw new StagingError(`${records[0]!.key} holds ${folder} counts, and ${why}. Nothing was published.`);
  }
  return {};
}

async function readJsonLines(
  store: ObjectStore,
  objects: readonly StagedObject[],
): Promise<Array<{ key: string; line: number; value: Record<string, unknown> }>> {
  const records: Array<{ key: string; line: number; value: Record<string, unknown> }> = [];
  for (const object of objects) {
    const lines = (await readText(store, object.key)).split('\n');
    for (const [index, text] of lines.entries()) {
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new StagingError(`${object.key} line ${index + 1} is not JSON.`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new StagingError(`${object.key} line ${index + 1} is not a JSON object.`);
      }
      records.push({ key: object.key, line: index + 1, value: value as Record<string, unknown> });
    }
  }
  return records;
}

/**
 * Phase 2. The journal goes to the ledger before the first write, so a crash at any point can be
 * settled; a failure caught here rolls back at once. The journal is closed only when every write,
 * or the rollback, is done.
 */
async function writeJournaled(
  store: ObjectStore,
  ledger: JournalLedger,
  run: RunContext,
  manifestKey: string,
  now: Date,
  writes: readonly PlannedWrite[],
): Promise<void> {
  const journal = await journalFor(store, run, manifestKey, writes.map((w) => w.key), now);
  await ledger.beginPublish(run.extract.id, run.month, journal, now);
  try {
    for (const { write } of writes) await write(store);
  } catch (error) {
    try {
      await rollBackJournal(store, journal);
    } catch (rollbackError) {
      // The journal stays open: whoever acts on the month next tries the rollback again.
      throw new PublishRollbackError(`Publishing failed (${messageOf(error)}). ${messageOf(rollbackError)}`, { cause: error });
    }
    await ledger.endPublish(run.extract.id, run.month, run.runId, now);
    throw error;
  }
  await ledger.endPublish(run.extract.id, run.month, run.runId, now);
}

/** Phase 3. The entities list goes first: without it a half-deleted staging can never be published again by mistake. */
async function deleteStaging(store: ObjectStore, prefix: string): Promise<PublishResult['stagingCleanup']> {
  try {
    const objects = await store.list(prefix);
    const isEntities = (o: ListedObject) => inFolder(o.key.slice(prefix.length), STAGING_FOLDERS.entities);
    await store.deleteMany(objects.filter(isEntities).map((o) => o.key));
    await store.deleteMany(objects.filter((o) => !isEntities(o)).map((o) => o.key));
    return { deletedObjects: objects.length };
  } catch (error) {
    return { deletedObjects: 0, error: `staging under ${prefix} was not (fully) deleted: ${messageOf(error)}` };
  }
}

async function readManifest(store: ObjectStore, key: string): Promise<Manifest | undefined> {
  if (!(await store.head(key))) return undefined;
  return parseManifest(await readText(store, key));
}

function resultOf(manifest: Manifest, key: string): Omit<PublishResult, 'alreadyPublished' | 'stagingCleanup' | 'settled'> {
  return {
    month: manifest.month,
    runId: manifest.runId,
    manifestKey: key,
    files: manifest.files,
    rowsRejected: manifest.rowsRejected,
    ...(manifest.estimatedCost ? { estimatedCost: manifest.estimatedCost } : {}),
  };
}

function fileEntry(definition: ExtractDefinition, key: string, entity: NamedEntity, scan: ExtractCsvScan): PublishedFile {
  return manifestFileEntry(definition.output, {
    key,
    entity: { id: entity.id, name: entity.name },
    rows: scan.rows,
    bytes: scan.bytes,
    sha256: scan.sha256,
    controlTotals: scan.controlTotals,
  });
}

function headerOnlyScan(definition: ExtractDefinition, header: string): ExtractCsvScan {
  const bytes = Buffer.from(header, 'utf8');
  return {
    rows: 0,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    controlTotals: definition.output.controlTotals.map(() => 0n),
  };
}

/**
 * The staging without its folder markers: zero-byte objects whose key ends in `_$folder$` or `/`.
 * S3 has no directories, so Hadoop file systems fake them: EMRFS (which AWS Glue jobs write through)
 * leaves `rows/bank_id=3_$folder$`, the S3A connector and the S3 console leave `rows/bank_id=3/`.
 * They hold no data, so publishing ignores them (a folder holding only markers does not exist);
 * cleanup still deletes them with the rest of the staging. An object named like a marker that holds
 * bytes is not a marker, and is refused rather than read as data or silently skipped.
 */
function withoutFolderMarkers(objects: readonly ListedObject[]): ListedObject[] {
  return objects.filter((o) => {
    if (!o.key.endsWith('/') && !o.key.endsWith('_$folder$')) return true;
    if (o.size === 0) return false;
    throw new StagingError(
      `${o.key} is named like a folder marker but holds ${o.size} bytes, so it is not one; ` +
        'the extract job does not write it. Nothing was published.',
    );
  });
}

function inFolder(relativeKey: string, folder: string): boolean {
  return relativeKey.startsWith(`${folder}/`);
}

/** Objects of a folder that carry data: Hadoop-style hidden files (`_SUCCESS`, `_temporary/`, `.crc`) are not; folder markers are dropped on listing. */
function dataObjects(staged: readonly StagedObject[], folder: string): StagedObject[] {
  return staged.filter((o) => inFolder(o.relativeKey, folder) && !o.relativeKey.split('/').some((s) => s.startsWith('_') || s.startsWith('.')));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
