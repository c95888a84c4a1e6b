/**
 * The naive shape of the interview solutions: read the whole loans table, then compute. It is the
 * local engine with one difference, so the comparison measures exactly that difference: the same
 * reader, the same DuckDB, the same two SQL files and the same CSV, but no window predicate pushed down to
 * PostgreSQL (every loan of the history crosses the wire and is loaded before the SQL filters it).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { MonthWindow } from '../functions/core/month';
import { entityRowsFolder, type SourceRowCount } from '../functions/core/staging-layout';
import { DEFAULT_EXTRACT_ID, findExtract } from '../extracts/folders';
import { extractWindowSql } from '../local/engine/extract-sql';
import { sourceModelOf, type SourceModel } from '../local/engine/source-model';
import { entityCsv } from '../local/engine/extract-job';
import { copySourceIntoDuckDb } from '../local/engine/source-reader';
import type { StagingSink } from '../local/engine/staging-sink';
import { withClient } from '../local/postgres';

/** The loan extract, which the benchmark measures. */
const LOAN = findExtract(DEFAULT_EXTRACT_ID);
const LOAN_MODEL = sourceModelOf(LOAN);

/** The loan extract's source model without its window read: every table is read whole. */
export const WHOLE_TABLES_MODEL: SourceModel = {
  schema: LOAN_MODEL.schema,
  tables: LOAN_MODEL.tables.map((table) => ({ name: table.name, columns: table.columns })),
  typeFamilies: LOAN_MODEL.typeFamilies,
};

export interface NaiveResult {
  readonly sourceRows: readonly SourceRowCount[];
  readonly parts: readonly { readonly bankId: number; readonly key: string; readonly rows: number }[];
}

export async function runNaiveExtract(sourceUrl: string, window: MonthWindow, sink: StagingSink): Promise<NaiveResult> {
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    await duck.run('CREATE MACRO div(a, b) AS a // b');
    const sourceRows = await withClient(sourceUrl, (pg) => copySourceIntoDuckDb(pg, duck, window, WHOLE_TABLES_MODEL));
    await duck.run(`CREATE TABLE extract_window AS ${extractWindowSql(window)}`);
    await duck.run(`CREATE TABLE extract_rows AS ${LOAN.sql.rows}`);
    await duck.runAndReadAll(LOAN.sql.rejected!);
    const counts = (await duck.runAndReadAll('SELECT bank_id, count(*) FROM extract_rows GROUP BY bank_id ORDER BY bank_id')).getRowsJS();
    const parts: { bankId: number; key: string; rows: number }[] = [];
    for (const [bankId, rows] of counts) {
      const key = `${entityRowsFolder('bank_id', Number(bankId))}/part-00000-naive.c000.csv`;
      await sink.putObject(key, entityCsv(duck, LOAN.definition, Number(bankId)));
      parts.push({ bankId: Number(bankId), key, rows: Number(rows) });
    }
    return { sourceRows, parts };
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}
