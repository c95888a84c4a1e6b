/**
 * The local stand-in for the Glue Spark job: any extract's SQL (its folder, extracts/<id>/), run by
 * DuckDB, on only the rows the month's window needs, written in the staging layout glue/etl.py
 * writes on AWS (functions/core/staging-layout.ts).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ExtractDefinition, OutputType } from '../../functions/core/extract-definition';
import { csvLine, extractHeader } from '../../functions/core/extract-csv';
import type { MonthWindow } from '../../functions/core/month';
import {
  STAGING_FOLDERS,
  entityAnalyticsFolder,
  entityRowsFolder,
  type RejectedCount,
  type SourceRowCount,
  type StagedEntity,
} from '../../functions/core/staging-layout';
import type { ExtractFolder } from '../../extracts/folders';
import { withClient } from '../postgres';
import { extractWindowSql } from './extract-sql';
import { reportPhase, tracePhase } from './engine-trace';
import { copySourceIntoDuckDb } from './source-reader';
import { sourceModelOf } from './source-model';
import type { StagingSink } from './staging-sink';

export interface ExtractJobInput {
  /** The extract to run: its definition and SQL (extracts/folders.ts findExtract). */
  readonly extract: ExtractFolder;
  /** postgres:// URL of the ODS (embedded or real). */
  readonly sourceUrl: string;
  readonly window: MonthWindow;
  readonly sink: StagingSink;
  /** Names the part files, as Spark's job UUID does. */
  readonly runId: string;
}

export interface StagedPart {
  /** The split entity's id (`output.splitBy.idColumn`). */
  readonly entityId: number;
  readonly key: string;
  readonly rows: number;
}

export interface ExtractJobResult {
  /** Every entity of `sql.entities`, in its order. */
  readonly entities: readonly StagedEntity[];
  /** The CSV parts (rows/), one per entity with rows. */
  readonly parts: readonly StagedPart[];
  /** The Parquet copies of the same rows (analytics/), one per entity with rows; none without `output.keys.analytics`. */
  readonly analyticsParts: readonly StagedPart[];
  readonly sourceRows: readonly SourceRowCount[];
  /** Empty for an extract without `sql.rejected` (nothing is staged under rejected/ then). */
  readonly rejected: readonly RejectedCount[];
}

/** The DuckDB table the rows query is materialised in. */
const ROWS_TABLE = 'extract_rows';

export async function runExtractJob(input: ExtractJobInput): Promise<ExtractJobResult> {
  const { definition, sql } = input.extract;
  const { idColumn } = definition.output.splitBy;
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    // The SQL's integer division: built into Spark and PostgreSQL, DuckDB spells it //.
    await duck.run('CREATE MACRO div(a, b) AS a // b');
    // Every result the job reads or writes has its ORDER BY, so DuckDB need not keep the order rows
    // were loaded in: loading and the rebuilt tables cost less.
    await duck.run('SET preserve_insertion_order = false');
    const model = sourceModelOf(input.extract);
    const sourceRows = await withClient(input.sourceUrl, (pg) => copySourceIntoDuckDb(pg, duck, input.window, model));
    const { rejected, entities, rowsPerEntity } = await tracePhase('compute', async () => {
      await duck.run(`CREATE TABLE extract_window AS ${extractWindowSql(input.window)}`);
      await duck.run(`CREATE TABLE ${ROWS_TABLE} AS ${sql.rows}`);
      await assertExtractColumns(duck, definition);
      return {
        rowsPerEntity: await countRowsPerEntity(duck, definition),
        rejected:
          sql.rejected === undefined
            ? []
            : (await readAll(duck, sql.rejected)).map((r) => ({ reason: String(r[0]), row_count: Number(r[1]) })),
        entities: await readEntities(duck, input.extract),
      };
    });

    const stageStarted = performance.now();
    const parts: StagedPart[] = [];
    const analyticsParts: StagedPart[] = [];
    const partName = `part-00000-${input.runId}.c000.csv`;
    const parquetName = `part-00000-${input.runId}.c000.snappy.parquet`;
    const parquetDir = await mkdtemp(join(tmpdir(), 'extract-parquet-'));
    try {
      // Like Spark's partitionBy: a part for each id the rows hold, none for an entity without rows
      // (publishing writes its header-only file, and judges an id that is no entity's).
      for (const [entityId, rows] of rowsPerEntity) {
        const key = `${entityRowsFolder(idColumn, entityId)}/${partName}`;
        await input.sink.putObject(key, entityCsv(duck, definition, entityId));
        parts.push({ entityId, key, rows });
        if (definition.output.keys.analytics === undefined) continue;
        const analyticsKey = `${entityAnalyticsFolder(idColumn, entityId)}/${parquetName}`;
        await stageEntityParquet(duck, definition, entityId, join(parquetDir, `${idColumn}=${entityId}.parquet`), input.sink, analyticsKey);
        analyticsParts.push({ entityId, key: analyticsKey, rows });
      }
    } finally {
      await rm(parquetDir, { recursive: true, force: true });
    }
    const jsonPart = `part-00000-${input.runId}.json`;
    await input.sink.putObject(`${STAGING_FOLDERS.entities}/${jsonPart}`, jsonLines(entities));
    // Without sql.rejected nothing is staged under rejected/ (as glue/etl.py): publishing reads no folder as no rejections.
    if (sql.rejected !== undefined) await input.sink.putObject(`${STAGING_FOLDERS.rejected}/${jsonPart}`, jsonLines(rejected));
    await input.sink.putObject(`${STAGING_FOLDERS.sourceRows}/${jsonPart}`, jsonLines(sourceRows));
    reportPhase({ name: 'stage', ms: performance.now() - stageStarted, rows: parts.reduce((n, p) => n + p.rows, 0) });
    return { entities, parts, analyticsParts, sourceRows, rejected };
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

/** The CSV text of one entity's rows (from the extract_rows table), in `output.orderBy` order, streamed chunk by chunk from DuckDB. */
export async function* entityCsv(duck: DuckDBConnection, definition: ExtractDefinition, entityId: number): AsyncIterable<string> {
  yield extractHeader(definition);
  const { output } = definition;
  const columns = output.columns.map((c) => `CAST(${quoteIdent(c.name)} AS VARCHAR)`).join(', ');
  const result = await duck.stream(
    `SELECT ${columns} FROM ${ROWS_TABLE} WHERE ${quoteIdent(output.splitBy.idColumn)} = ${entityId} ORDER BY ${quoteIdent(output.orderBy)}`,
  );
  for await (const rows of result.yieldRows()) {
    yield rows.map((row) => csvLine(row.map((v) => (v === null ? null : String(v))))).join('');
  }
}

/**
 * The Parquet type of each output column type in the analytics copy (glue/etl.py casts the same):
 * explicit, so the file's schema never follows a change in what DuckDB infers. INT64 ids and counts,
 * DECIMAL(20,2) average, STRING text and month; NULL stays NULL. For the loan extract this is the
 * schema the analysts' Athena table reads.
 */
const PARQUET_TYPES: Readonly<Record<OutputType, string>> = {
  text: 'VARCHAR',
  integer: 'BIGINT',
  count: 'BIGINT',
  decimal2: 'DECIMAL(20, 2)',
  month: 'VARCHAR',
  date: 'DATE',
};

/**
 * One entity's rows as a Parquet part (analytics/<idColumn>=<id>/part-*.parquet), for the analysts'
 * Athena table: Athena's CSV SerDes read neither line breaks in quoted fields nor decimal(20,2). The
 * output columns in order, without the id column (it is the folder). DuckDB writes the file aside
 * (Parquet's footer comes last, so it cannot be streamed as it is made), then the file is streamed to
 * the sink and removed.
 */
async function stageEntityParquet(
  duck: DuckDBConnection,
  definition: ExtractDefinition,
  entityId: number,
  file: string,
  sink: StagingSink,
  key: string,
): Promise<void> {
  const { output } = definition;
  const columns = output.columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${PARQUET_TYPES[c.type]}) AS ${quoteIdent(c.name)}`).join(', ');
  try {
    await duck.run(
      `COPY (SELECT ${columns} FROM ${ROWS_TABLE} WHERE ${quoteIdent(output.splitBy.idColumn)} = ${entityId} ORDER BY ${quoteIdent(output.orderBy)}) ` +
        `TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION snappy)`,
    );
    await sink.putObject(key, createReadStream(file));
  } finally {
    await rm(file, { force: true });
  }
}

/** The rows query returns the split entity's id, then the output columns in order. */
async function assertExtractColumns(duck: DuckDBConnection, definition: ExtractDefinition): Promise<void> {
  const result = await duck.runAndReadAll(`SELECT * FROM ${ROWS_TABLE} LIMIT 0`);
  const actual = result.columnNames();
  const expected = [definition.output.splitBy.idColumn, ...definition.output.columns.map((c) => c.name)];
  if (actual.join(',') !== expected.join(',')) {
    throw new Error(
      `${definition.sql.rows} of extract ${definition.id} returns columns ${actual.join(', ')}; its definition needs ${expected.join(', ')}`,
    );
  }
}

/** Rows per id of the split entity, in id order; a row without an id would belong to no file, and fails the run (as in glue/etl.py). */
async function countRowsPerEntity(duck: DuckDBConnection, definition: ExtractDefinition): Promise<Array<[number, number]>> {
  const id = quoteIdent(definition.output.splitBy.idColumn);
  const counts = await readAll(duck, `SELECT ${id}, count(*) FROM ${ROWS_TABLE} GROUP BY ${id} ORDER BY ${id}`);
  const withoutId = counts.find((r) => r[0] === null);
  if (withoutId) {
    throw new Error(`${definition.sql.rows} of extract ${definition.id} returns ${Number(withoutId[1])} rows with a NULL ${definition.output.splitBy.idColumn}`);
  }
  return counts.map((r) => [Number(r[0]), Number(r[1])]);
}

/** Every entity of `sql.entities` as (id, name); a NULL name as '' (glue/etl.py does the same). */
async function readEntities(duck: DuckDBConnection, extract: ExtractFolder): Promise<StagedEntity[]> {
  const result = await duck.runAndReadAll(extract.sql.entities);
  const columns = result.columnNames();
  if (columns.join(',') !== 'id,name') {
    throw new Error(`${extract.definition.sql.entities} of extract ${extract.definition.id} returns columns ${columns.join(', ')}; it must return id, name`);
  }
  return result.getRowsJS().map((r) => ({ id: Number(r[0]), name: r[1] === null ? '' : String(r[1]) }));
}

async function readAll(duck: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await duck.runAndReadAll(sql)).getRowsJS();
}

function jsonLines(records: readonly object[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
