/**
 * The production job, glue/etl.py, on a real Spark (3.5.6, as AWS Glue 5.1) against a real
 * PostgreSQL: its staging, published by the real publish step, must give the same files and
 * manifest as the local engine (DuckDB), and the hand-computed oracle's bytes. Two ODS: the oracle
 * (test/fixtures/oracle-ods.sql) and an adversarial one (test/fixtures/adversarial-ods.sql); a
 * leap February, an ordinary month and a year boundary; adaptive execution on and off; shuffle
 * partitions 1 and 200.
 *
 * Needs scripts/setup-spark.sh and TEST_POSTGRES_URL. Under CI=true a missing part fails the suite.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseCsvText } from '../../functions/core/csv-reader';
import { monthWindow, parseMonth } from '../../functions/core/month';
import type { Manifest } from '../../functions/core/manifest';
import { parseManifest } from '../../functions/core/manifest';
import { publishExtracts } from '../../functions/core/publish-extracts';
import { runExtractJob } from '../../local/engine/extract-job';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { withClient } from '../../local/postgres';
import { extractJobFiles, jdbcConnectionOf, sparkToolchainProblem, startSparkJobs, type SparkJobs } from '../../local/glue-spark/spark-jobs';
import { loadFixtureOds, realPostgresUrl, realServerDatabase, type TestDatabase } from '../support/databases';
import { CLIENT_ACTIVITY_FOLDER, LOAN_FOLDER } from '../support/engine-extracts';
import { MemoryJournalLedger } from '../support/memory-journal-ledger';
import { MemoryStore } from '../support/memory-object-store';
import { ANALYTICS_SCHEMA, asCsvFields, bankParts, readParquetPart, type ParquetPart } from '../support/parquet';
import { runContextFor } from '../support/run-context';

const FIXTURES = join(__dirname, '..', 'fixtures');
const MONTHS = ['2024-02', '2024-06', '2025-01'] as const;
const SETTINGS = [
  { adaptive: 'true', shufflePartitions: '1' },
  { adaptive: 'true', shufflePartitions: '200' },
  { adaptive: 'false', shufflePartitions: '1' },
  { adaptive: 'false', shufflePartitions: '200' },
] as const;
/** Hand-computed files: <fixture dir>/<month>/bank_id=<id>.csv, for the banks and months that have one. */
const ODS = [
  { name: 'oracle', sql: 'oracle-ods.sql', expected: 'oracle' },
  { name: 'adversarial', sql: 'adversarial-ods.sql', expected: 'adversarial' },
] as const;

const missing = sparkToolchainProblem() ?? (realPostgresUrl() ? undefined : 'TEST_POSTGRES_URL is not set');
if (missing && process.env.CI === 'true') {
  throw new Error(`CI=true but the real-Spark tests cannot run: ${missing} (.ci/run installs and starts both)`);
}
const describeSpark = missing ? describe.skip : describe;
if (missing) console.warn(`skipping the real-Spark tests: ${missing}`);

interface Published {
  readonly files: Map<string, Buffer>;
  readonly manifest: Manifest;
  /** Part files with rows, per bank folder, as the job staged them. */
  readonly partsWithRows: Map<string, number>;
  /** Staged part bytes per bank id. */
  readonly stagedParts: Map<number, Buffer>;
  /** The staged analytics/bank_id=<id>/part-*.parquet files per bank id, each read back by DuckDB. */
  readonly analytics: Map<number, ParquetPart[]>;
}

describeSpark('glue/etl.py on a real Spark', () => {
  let spark: SparkJobs;
  let work: string;
  let log: WriteStream;
  const databases = new Map<string, TestDatabase>();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'spark-engine-'));
    log = createWriteStream(join(work, 'spark.log'));
    spark = await startSparkJobs({ log });
    for (const ods of ODS) {
      const database = await realServerDatabase();
      databases.set(ods.name, database);
      await loadFixtureOds(database.url, ods.sql);
    }
  }, 180_000);

  afterAll(async () => {
    await spark?.close();
    log?.end();
    for (const database of databases.values()) await database.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs the Spark of AWS Glue 5.1', () => {
    expect(spark.sparkVersion).toBe('3.5.6');
  });

  describe.each(ODS)('the $name ODS', (ods) => {
    describe.each(MONTHS)('%s', (month) => {
      let duckdb: Published;

      beforeAll(async () => {
        const folder = join(work, ods.name, month, 'duckdb');
        await runExtractJob({ extract: LOAN_FOLDER, sourceUrl: databases.get(ods.name)!.url, window: monthWindow(parseMonth(month)), sink: new FolderStagingSink(folder), runId: 'duckdb' });
        duckdb = await publishFolder(folder, month, 'duckdb');
      });

      it.each(SETTINGS)('adaptive execution $adaptive, $shufflePartitions shuffle partitions: the same files and manifest as DuckDB, one part per bank', async (settings) => {
        const runId = `spark-${settings.adaptive}-${settings.shufflePartitions}`;
        const folder = join(work, ods.name, month, runId);
        const result = await spark.run({
          arguments: jobArguments(month, `file://${folder}/`, runId),
          connections: { ods: jdbcConnectionOf(databases.get(ods.name)!.url) },
          extraFiles: extractJobFiles(LOAN_FOLDER),
          sparkConf: { 'spark.sql.adaptive.enabled': settings.adaptive, 'spark.sql.shuffle.partitions': settings.shufflePartitions },
        });
        expect(result).toEqual({ status: 'SUCCEEDED' });
        const published = await publishFolder(folder, month, runId);

        expect([...published.files.keys()]).toEqual([...duckdb.files.keys()]);
        for (const [key, bytes] of duckdb.files) expect(published.files.get(key)!.equals(bytes)).toBe(true);
        expect(withoutRun(published.manifest)).toEqual(withoutRun(duckdb.manifest));
        for (const [bank, parts] of published.partsWithRows) expect([bank, parts]).toEqual([bank, 1]);
        expect(published.partsWithRows.size).toBe(duckdb.partsWithRows.size);

        // The analysts' Parquet copy, read back by DuckDB: one part per bank with rows, the contract's
        // types, the staged CSV's rows (NULL read as the empty field), and the DuckDB engine's rows.
        expect([...published.analytics.keys()]).toEqual([...published.stagedParts.keys()].sort((a, b) => a - b));
        expect([...published.analytics.keys()]).toEqual([...duckdb.analytics.keys()]);
        for (const [bankId, parts] of published.analytics) {
          expect([bankId, parts.length]).toEqual([bankId, 1]);
          const [part] = parts;
          expect(part!.described).toEqual(ANALYTICS_SCHEMA.map((c) => [c.name, c.duckdb]));
          expect(part!.parquetTypes).toEqual(ANALYTICS_SCHEMA.map((c) => [c.name, c.parquet]));
          expect(part!.compression).toEqual(['SNAPPY']);
          const csvRows = parseCsvText(published.stagedParts.get(bankId)!.toString('utf8')).slice(1);
          expect({ bankId, rows: asCsvFields(part!.rows) }).toEqual({ bankId, rows: csvRows });
          expect({ bankId, rows: part!.rows }).toEqual({ bankId, rows: duckdb.analytics.get(bankId)![0]!.rows });
        }

        // The hand-computed oracle, byte for byte, where this ODS and month have one.
        const expectedDir = join(FIXTURES, ods.expected, month);
        for (const name of await readdir(expectedDir).catch(() => [] as string[])) {
          const bankId = Number(/^bank_id=(\d+)\.csv$/.exec(name)![1]);
          const expected = await readFile(join(expectedDir, name));
          expect({ bankId, csv: published.stagedParts.get(bankId)?.toString('utf8') }).toEqual({ bankId, csv: expected.toString('utf8') });
        }
      });
    });
  });

  it('writes a bank name starting with "#" unquoted, and quotes a lone CR (adversarial ODS, 2024-06)', async () => {
    const folder = join(work, 'adversarial', '2024-06', 'spark-true-1');
    const bank1 = (await stagedFiles(folder)).find(([key]) => key.startsWith('rows/bank_id=1/') && key.endsWith('.csv'))![1].toString('utf8');
    expect(bank1).toContain('\n#1 Bank,101,"lone\rCR",2024-06,1,100,1,100,33.33\n');
    expect(bank1).not.toContain('"#1 Bank"');
  });

  it('fails the job run, naming the argument, on a bad month', async () => {
    const result = await spark.run({
      arguments: jobArguments('2024-13', `file://${join(work, 'bad')}/`, 'bad'),
      connections: { ods: jdbcConnectionOf(databases.get('oracle')!.url) },
      extraFiles: extractJobFiles(LOAN_FOLDER),
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatch(/^ValueError: --month must look like "YYYY-MM"/);
  });

  it('refuses to run another extract than the one whose files it was given', async () => {
    const result = await spark.run({
      arguments: jobArguments('2024-06', `file://${join(work, 'wrong-extract')}/`, 'wrong', 'loan-moving-average'),
      connections: { ods: jdbcConnectionOf(databases.get('oracle')!.url) },
      extraFiles: extractJobFiles(CLIENT_ACTIVITY_FOLDER),
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatch(/^ValueError: .*extract\.json is the definition of extract 'client-activity', but --extract_id is 'loan-moving-average'$/);
  });

  it('runs the second extract (client-activity: split by branch, tables read whole, no rejected SQL, no analytics) as the local engine does', async () => {
    const month = '2024-02';
    const url = databases.get('oracle')!.url;
    const folder = join(work, 'client-activity', month);
    const duckdb = await runExtractJob({ extract: CLIENT_ACTIVITY_FOLDER, sourceUrl: url, window: monthWindow(parseMonth(month)), sink: new FolderStagingSink(join(folder, 'duckdb')), runId: 'duckdb' });
    const result = await spark.run({
      arguments: jobArguments(month, `file://${folder}/spark/`, 'spark', 'client-activity'),
      connections: { ods: jdbcConnectionOf(url) },
      extraFiles: extractJobFiles(CLIENT_ACTIVITY_FOLDER),
      sparkConf: { 'spark.sql.shuffle.partitions': '3' },
    });
    expect(result).toEqual({ status: 'SUCCEEDED' });
    const staged = await stagedFiles(join(folder, 'spark'));

    // rows/branch_id=<id>/: one part with rows per branch that has rows, the same bytes as DuckDB's.
    const sparkRows = new Map<string, string[]>();
    for (const [key, bytes] of staged) {
      const part = /^rows\/(branch_id=\d+)\/part-[^/]+\.csv$/.exec(key);
      if (part && bytes.toString('utf8').split('\n').filter((line) => line !== '').length > 1) {
        sparkRows.set(part[1]!, [...(sparkRows.get(part[1]!) ?? []), bytes.toString('utf8')]);
      }
    }
    const duckdbRows = new Map<string, string[]>();
    for (const part of duckdb.parts) {
      duckdbRows.set(`branch_id=${part.entityId}`, [await readFile(join(folder, 'duckdb', ...part.key.split('/')), 'utf8')]);
    }
    expect([...duckdbRows.keys()]).toEqual(['branch_id=2', 'branch_id=10', 'branch_id=31', 'branch_id=40']);
    expect(new Map([...sparkRows].sort(([a], [b]) => Number(a.slice(10)) - Number(b.slice(10))))).toEqual(duckdbRows);

    const jsonLinesOf = (folderName: string) =>
      staged
        .filter(([key]) => key.startsWith(`${folderName}/`) && key.endsWith('.json'))
        .flatMap(([, bytes]) => bytes.toString('utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown));
    expect(jsonLinesOf('entities')).toEqual(duckdb.entities);
    expect(duckdb.entities).toHaveLength(8);
    expect(jsonLinesOf('source_rows')).toEqual(duckdb.sourceRows);
    expect(duckdb.sourceRows).toEqual([
      { table: 'branch', row_count: 8 },
      { table: 'client', row_count: 10 },
      { table: 'account', row_count: 11 },
      { table: 'loans', row_count: 64 },
    ]);
    expect(staged.filter(([key]) => /^(rejected|analytics)\//.test(key))).toEqual([]);
  });

  it('reads no more rows for a month when clients, accounts and older loans outside its window are added (both engines)', async () => {
    const database = await realServerDatabase();
    try {
      await loadFixtureOds(database.url, 'oracle-ods.sql');
      const rowsRead = async (label: string) => {
        const folder = join(work, 'growth', label);
        await runExtractJob({ extract: LOAN_FOLDER, sourceUrl: database.url, window: monthWindow(parseMonth('2024-06')), sink: new FolderStagingSink(join(folder, 'duckdb')), runId: 'duckdb' });
        const result = await spark.run({
          arguments: jobArguments('2024-06', `file://${folder}/spark/`, 'spark'),
          connections: { ods: jdbcConnectionOf(database.url) },
          extraFiles: extractJobFiles(LOAN_FOLDER),
        });
        expect(result).toEqual({ status: 'SUCCEEDED' });
        return { duckdb: await stagedSourceRows(join(folder, 'duckdb')), spark: await stagedSourceRows(join(folder, 'spark')) };
      };
      const before = await rowsRead('before');
      // 500 clients with an account each, and a loan of each two years before the window.
      await withClient(database.url, (client) =>
        client.query(`INSERT INTO client SELECT 100000 + i, 'c', 's', 10 FROM generate_series(1, 500) i;
          INSERT INTO account SELECT 100000 + i, 0, 100000 + i, DATE '2020-01-01' FROM generate_series(1, 500) i;
          INSERT INTO loans SELECT 100000 + i, 100, 100000 + i, DATE '2022-01-01' + i FROM generate_series(1, 500) i`),
      );
      const after = await rowsRead('after');
      expect(before.spark).toEqual(before.duckdb);
      expect(before.duckdb).toEqual({ bank: 4, branch: 8, client: 8, account: 9, loans: 20 });
      expect(after).toEqual(before);
    } finally {
      await database.drop();
    }
  });
});

/** The rows a run read per table, from its staged source_rows/part-*.json. */
async function stagedSourceRows(folder: string): Promise<Record<string, number>> {
  const lines = (await stagedFiles(folder))
    .filter(([key]) => key.startsWith('source_rows/') && key.endsWith('.json'))
    .flatMap(([, bytes]) => bytes.toString('utf8').split('\n').filter((line) => line !== ''));
  return Object.fromEntries(lines.map((line) => JSON.parse(line) as { table: string; row_count: number }).map((r) => [r.table, r.row_count]));
}

/** The run's arguments as StartExtractJob passes them, plus the job's defaults (scripts/extract-stack.ts). */
function jobArguments(month: string, stagingPath: string, runId: string, extractId = LOAN_FOLDER.definition.id): Record<string, string> {
  const window = /^\d{4}-(0[1-9]|1[0-2])$/.test(month) ? monthWindow(parseMonth(month)) : monthWindow(parseMonth('2024-01'));
  return {
    '--JOB_NAME': `monthly-loan-extract-test-${extractId}`,
    '--extract_id': extractId,
    '--month': month,
    '--window_start': window.windowStart,
    '--month_start': window.monthStart,
    '--window_end': window.windowEnd,
    '--staging_path': stagingPath,
    '--run_id': runId,
    '--connection_name': 'ods',
    '--read_partitions': '3',
    // The test server has no TLS; tls.test.py proves verify-full against one that has.
    '--ods_sslmode': 'disable',
  };
}

/** Every file a job staged under `folder`, by key relative to it; Hadoop's local checksum files are not S3 objects. */
async function stagedFiles(folder: string): Promise<Array<[string, Buffer]>> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files: Array<[string, Buffer]> = [];
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.endsWith('.crc')) continue;
    const path = join(entry.parentPath, entry.name);
    files.push([relative(folder, path).split('\\').join('/'), await readFile(path)]);
  }
  return files.sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Publishes a staging folder with the real publish step into an in-memory bucket. */
async function publishFolder(folder: string, month: string, runId: string): Promise<Published> {
  const store = new MemoryStore(true, 64 * 1024);
  const run = runContextFor(month, runId, { executionArn: `arn:aws:states:af-south-1:000000000000:execution:test:${runId}` });
  const staged = await stagedFiles(folder);
  const partsWithRows = new Map<string, number>();
  const stagedParts = new Map<number, Buffer>();
  for (const [key, bytes] of staged) {
    store.seed(`${run.stagingPrefix}${key}`, bytes);
    const part = /^rows\/(bank_id=(-?\d+))\/part-[^/]+\.csv$/.exec(key);
    if (part && bytes.toString('utf8').split('\n').filter((line) => line !== '').length > 1) {
      partsWithRows.set(part[1]!, (partsWithRows.get(part[1]!) ?? 0) + 1);
      stagedParts.set(Number(part[2]), bytes);
    }
  }
  const analytics = new Map<number, ParquetPart[]>();
  for (const [bankId, paths] of await bankParts(folder, 'analytics', /^part-.*\.parquet$/)) {
    analytics.set(bankId, await Promise.all(paths.map(readParquetPart)));
  }
  const result = await publishExtracts(store, new MemoryJournalLedger(run.executionArn), run, new Date('2026-11-30T00:00:00Z'));
  const files = new Map<string, Buffer>();
  for (const file of result.files) files.set(file.key, Buffer.from(store.text(file.key)!, 'utf8'));
  return { files, manifest: parseManifest(store.text(result.manifestKey)!), partsWithRows, stagedParts, analytics };
}

/** What two runs over the same data must agree on: all but the run's id and time. */
function withoutRun(manifest: Manifest): Omit<Manifest, 'runId' | 'generatedAt'> {
  return { month: manifest.month, sourceRowsRead: manifest.sourceRowsRead, rowsRejected: manifest.rowsRejected, files: manifest.files };
}
