/**
 * The analysts' copy: for each oracle month (test/fixtures/oracle-ods.sql), the local engine stages
 * analytics/bank_id=<id>/part-*.parquet beside rows/bank_id=<id>/part-*.csv. Read back by DuckDB's
 * own Parquet reader (as Athena would read it), each part must hold exactly the staged CSV's rows
 * (oracle.test.ts proves them equal to the hand-computed files; here bank 4's one address is made
 * NULL), in the same order, a NULL read as the CSV's empty field, with the schema of the Athena table. Branch 12's address holds a line
 * break and a comma, which Athena's CSV SerDe cannot read: the reason for the Parquet copy.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { runExtractJob, type ExtractJobResult } from '../../local/engine/extract-job';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { startEmbeddedOds, type EmbeddedOds } from '../../local/ods';
import { withClient } from '../../local/postgres';
import { loadFixtureOds } from '../support/databases';
import { LOAN_FOLDER } from '../support/engine-extracts';
import { ANALYTICS_SCHEMA, asCsvFields, bankParts, readCsvRows, readParquetPart } from '../support/parquet';

const MONTHS = ['2024-02', '2024-06', '2025-01', '2023-09'] as const;
/** Banks with branches; bank 2 has none, so no part (as for rows/). */
const STAGED_BANKS = [1, 3, 4];
const MULTI_LINE_BRANCH = '12';
const MULTI_LINE_ADDRESS = 'Unit 7\nCanal Walk, Century City';

describe('analytics/: the Parquet copy of the staged rows, read back by DuckDB', () => {
  let ods: EmbeddedOds;
  let staging: string;

  beforeAll(async () => {
    ods = await startEmbeddedOds();
    await loadFixtureOds(ods.url, 'oracle-ods.sql');
    // A NULL address (the fixture has none): the Parquet keeps NULL, the CSV writes an empty field.
    await withClient(ods.url, (client) => client.query(`UPDATE branch SET address = NULL WHERE idbranch = 40`));
    staging = await mkdtemp(join(tmpdir(), 'extract-analytics-'));
  });

  afterAll(async () => {
    if (staging) await rm(staging, { recursive: true, force: true });
    await ods?.stop();
  });

  describe.each(MONTHS)('%s', (month) => {
    let folder: string;
    let job: ExtractJobResult;

    beforeAll(async () => {
      folder = join(staging, month);
      job = await runExtractJob({ extract: LOAN_FOLDER, sourceUrl: ods.url, window: monthWindow(parseMonth(month)), sink: new FolderStagingSink(folder), runId: 'analytics' });
    });

    it('stages exactly one Parquet part per bank with rows, none for the bank without branches', async () => {
      const parquet = await bankParts(folder, 'analytics', /^part-.*\.parquet$/);
      expect([...parquet.keys()]).toEqual(STAGED_BANKS);
      for (const parts of parquet.values()) expect(parts).toHaveLength(1);
      expect(job.analyticsParts.map((p) => [p.entityId, p.key])).toEqual(
        STAGED_BANKS.map((id) => [id, `analytics/bank_id=${id}/part-00000-analytics.c000.snappy.parquet`]),
      );
      const csv = await bankParts(folder, 'rows', /^part-.*\.csv$/);
      expect([...csv.keys()]).toEqual(STAGED_BANKS);
    });

    it('each part holds the staged CSV rows, in order, NULL as the empty field, with the contract types', async () => {
      const parquet = await bankParts(folder, 'analytics', /^part-.*\.parquet$/);
      const csv = await bankParts(folder, 'rows', /^part-.*\.csv$/);
      for (const bankId of STAGED_BANKS) {
        const part = await readParquetPart(parquet.get(bankId)![0]!);
        expect(part.described).toEqual(ANALYTICS_SCHEMA.map((c) => [c.name, c.duckdb]));
        expect(part.parquetTypes).toEqual(ANALYTICS_SCHEMA.map((c) => [c.name, c.parquet]));
        expect(part.compression).toEqual(['SNAPPY']);
        const csvRows = await readCsvRows(csv.get(bankId)![0]!);
        expect(csvRows.length).toBeGreaterThan(0);
        expect({ bankId, rows: asCsvFields(part.rows) }).toEqual({ bankId, rows: csvRows });
      }
    });

    it('keeps the multi-line address of branch 12, and a NULL address as NULL', async () => {
      const parquet = await bankParts(folder, 'analytics', /^part-.*\.parquet$/);
      const bank1 = await readParquetPart(parquet.get(1)![0]!);
      const branch12 = bank1.rows.find((r) => r[1] === MULTI_LINE_BRANCH);
      expect(branch12?.[2]).toBe(MULTI_LINE_ADDRESS);
      const bank4 = await readParquetPart(parquet.get(4)![0]!);
      expect(bank4.rows.filter((r) => r[2] === null)).toHaveLength(1);
      expect(bank4.rows.filter((r) => r[2] === '')).toHaveLength(0);
    });
  });
});
