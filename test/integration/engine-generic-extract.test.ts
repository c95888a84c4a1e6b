/**
 * The local engine runs any extract from its folder, not only the loan extract: the second extract
 * of the fixtures (test/fixtures/extracts/client-activity: split by branch, one month, every table
 * read whole, no rejected SQL, no analytics) on the oracle ODS. The rows below were worked out BY
 * HAND from test/fixtures/oracle-ods.sql's comments, never by the code: a loan counts when its
 * loan_date is in the month, its amount is not NULL and its account, client and branch exist.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { runExtractJob, type ExtractJobResult } from '../../local/engine/extract-job';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { startEmbeddedOds, type EmbeddedOds } from '../../local/ods';
import { loadFixtureOds } from '../support/databases';
import { CLIENT_ACTIVITY_FOLDER } from '../support/engine-extracts';

const HEADER = 'client_id,month,loan_count,loan_amount,first_loan_date\n';

/** Every branch of the oracle ODS, in id order, named by its address (the extract's sql/branches.sql). */
const BRANCHES = [
  { id: 2, name: 'Shop 5, "The Grove", Pretoria' },
  { id: 10, name: '1 Main Road, Sandton' },
  { id: 11, name: '11 Long Street Cape Town' },
  { id: 12, name: 'Unit 7\nCanal Walk, Century City' },
  { id: 30, name: '17 Cours Valmy La Défense' },
  { id: 31, name: "Tour Granite\nPlace de l'Iris La Défense" },
  { id: 40, name: '40 Church Street, Soweto' },
  { id: 99, name: '99 Nowhere Road' },
];

/** Every table read whole, every month: 8 branches, 10 clients, 11 accounts, 64 loans (the fixture's INSERTs). */
const WHOLE_TABLES = { branch: 8, client: 10, account: 11, loans: 64 };

/** Per month, the CSV part of each branch with rows (branch id → file text), by hand. */
const MONTHS: ReadonlyArray<{ month: string; files: Record<number, string> }> = [
  {
    // Leap February: 104 + 105 (client 1001), 112 (201), 143 (3101) and 144 (3102) of branch 31, 151 (4001).
    // 162 (client 9001 has no branch) is left out; 106 and 164 (1 March) are after the month.
    month: '2024-02',
    files: {
      2: `${HEADER}201,2024-02,1,3001,2024-02-10\n`,
      10: `${HEADER}1001,2024-02,2,6000,2024-02-01\n`,
      31: `${HEADER}3101,2024-02,1,2000000000,2024-02-05\n3102,2024-02,1,2000000000,2024-02-06\n`,
      40: `${HEADER}4001,2024-02,1,10,2024-02-14\n`,
    },
  },
  {
    // 204 + 205 (1001), 212 (201), the reversal 232 (3001), INT max 243 (3102). 262 (NULL amount),
    // 263 (no account) and 265 (client without branch) are left out; 266's branch 99 has no bank,
    // which this extract does not read, and is in May.
    month: '2024-06',
    files: {
      2: `${HEADER}201,2024-06,1,700,2024-06-15\n`,
      10: `${HEADER}1001,2024-06,2,7000,2024-06-01\n`,
      30: `${HEADER}3001,2024-06,1,-102,2024-06-03\n`,
      31: `${HEADER}3102,2024-06,1,2147483647,2024-06-05\n`,
    },
  },
  { month: '2023-09', files: {} },
];

describe('the local engine on the client-activity extract (oracle ODS)', () => {
  let ods: EmbeddedOds;
  let staging: string;

  beforeAll(async () => {
    ods = await startEmbeddedOds();
    await loadFixtureOds(ods.url, 'oracle-ods.sql');
    staging = await mkdtemp(join(tmpdir(), 'extract-generic-'));
  });

  afterAll(async () => {
    if (staging) await rm(staging, { recursive: true, force: true });
    await ods?.stop();
  });

  describe.each(MONTHS)('$month', (expected) => {
    let folder: string;
    let job: ExtractJobResult;

    beforeAll(async () => {
      folder = join(staging, expected.month);
      job = await runExtractJob({
        extract: CLIENT_ACTIVITY_FOLDER,
        sourceUrl: ods.url,
        window: monthWindow(parseMonth(expected.month)),
        sink: new FolderStagingSink(folder),
        runId: 'generic',
      });
    });

    it('stages one part per branch with rows, under rows/branch_id=<id>/, byte for byte as computed by hand', async () => {
      const rows = await filesUnder(join(folder, 'rows'));
      const wanted = Object.fromEntries(
        Object.entries(expected.files).map(([id, text]) => [`branch_id=${id}/part-00000-generic.c000.csv`, text]),
      );
      expect(rows).toEqual(wanted);
      expect(job.parts.map((p) => [p.entityId, p.rows])).toEqual(
        Object.entries(expected.files).map(([id, text]) => [Number(id), text.split('\n').length - 2]),
      );
    });

    it('lists every branch among the entities, those without rows too', async () => {
      expect(job.entities).toEqual(BRANCHES);
      expect(await jsonLines(join(folder, 'entities'))).toEqual(BRANCHES);
    });

    it('reads every table whole, and stages neither rejected counts nor an analytics copy', async () => {
      expect(Object.fromEntries(job.sourceRows.map((r) => [r.table, r.row_count]))).toEqual(WHOLE_TABLES);
      expect(await jsonLines(join(folder, 'source_rows'))).toEqual(Object.entries(WHOLE_TABLES).map(([table, row_count]) => ({ table, row_count })));
      expect(job.rejected).toEqual([]);
      expect(job.analyticsParts).toEqual([]);
      // No rejected/ and no analytics/ folder at all; rows/ only when some branch has rows.
      const hasRows = Object.keys(expected.files).length > 0;
      expect((await readdir(folder)).sort()).toEqual(hasRows ? ['entities', 'rows', 'source_rows'] : ['entities', 'source_rows']);
    });
  });

  it('fails naming the file when the rows query does not return the definition\'s columns', async () => {
    const broken = { ...CLIENT_ACTIVITY_FOLDER, sql: { ...CLIENT_ACTIVITY_FOLDER.sql, rows: CLIENT_ACTIVITY_FOLDER.sql.rows.replace('AS first_loan_date', 'AS first_loan') } };
    const folder = join(staging, 'broken');
    await expect(
      runExtractJob({ extract: broken, sourceUrl: ods.url, window: monthWindow(parseMonth('2024-06')), sink: new FolderStagingSink(folder), runId: 'broken' }),
    ).rejects.toThrow(
      'sql/rows.sql of extract client-activity returns columns branch_id, client_id, month, loan_count, loan_amount, first_loan; ' +
        'its definition needs branch_id, client_id, month, loan_count, loan_amount, first_loan_date',
    );
    await expect(readdir(folder)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails, staging nothing, when the rows query leaves the split entity\'s id NULL (the row would belong to no file)', async () => {
    const rows = CLIENT_ACTIVITY_FOLDER.sql.rows.replace('c.branch_idbranch AS branch_id', 'CAST(NULL AS INTEGER) AS branch_id');
    expect(rows).not.toBe(CLIENT_ACTIVITY_FOLDER.sql.rows);
    const folder = join(staging, 'null-id');
    await expect(
      runExtractJob({
        extract: { ...CLIENT_ACTIVITY_FOLDER, sql: { ...CLIENT_ACTIVITY_FOLDER.sql, rows } },
        sourceUrl: ods.url,
        window: monthWindow(parseMonth('2024-06')),
        sink: new FolderStagingSink(folder),
        runId: 'null-id',
      }),
    ).rejects.toThrow('sql/rows.sql of extract client-activity returns 4 rows with a NULL branch_id');
    await expect(readdir(folder)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/** Every file under `dir`, by path relative to it, as text. */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files: Record<string, string> = {};
  for (const entry of entries.filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length + 1).split('\\').join('/')] = await readFile(path, 'utf8');
  }
  return files;
}

async function jsonLines(dir: string): Promise<unknown[]> {
  const files = (await readdir(dir)).filter((f) => /^part-.*\.json$/.test(f)).sort();
  const records: unknown[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    records.push(...text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown));
  }
  return records;
}
