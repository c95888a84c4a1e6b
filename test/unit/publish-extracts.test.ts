import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EntityNamingError } from '../../functions/core/errors';
import { extractHeader } from '../../functions/core/extract-csv';
import { parseExtractDefinition } from '../../functions/core/extract-definition';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { PublishRollbackError, StagingError, publishExtracts, type PublishResult } from '../../functions/core/publish-extracts';
import { settleUnfinishedPublish } from '../../functions/core/publish-journal';
import { stagingPrefixFor, type RunContext } from '../../functions/core/run-context';
import { MemoryJournalLedger } from '../support/memory-journal-ledger';
import { LOAN_EXTRACT, runContextFor } from '../support/run-context';
import { MemoryStore } from '../support/memory-object-store';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler } from '../../functions/publish-extracts';
import recordedEvent from '../events/publish-extracts.json';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';

const run: RunContext = runContextFor('2024-02', 'exec-1');
const EXTRACT_HEADER = extractHeader(LOAN_EXTRACT);
/** The month's open journal in the memory ledger (kept by `<extract id> <month>`), if any. */
const openJournal = (extractId = LOAN_EXTRACT.id) => ledger.journals.get(`${extractId} 2024-02`);
const NOW = new Date('2024-03-01T00:05:00.000Z');
let ledger: MemoryJournalLedger;
beforeEach(() => {
  ledger = new MemoryJournalLedger(run.executionArn);
});
const S = run.stagingPrefix;

const FNB_KEY = 'extracts/bank_name=FirstNationalBank/year=2024/month=02/FirstNationalBank_20240229.csv';
const NED_KEY = 'extracts/bank_name=Nedbank/year=2024/month=02/Nedbank_20240229.csv';
const SG_KEY = 'extracts/bank_name=SocieteGenerale/year=2024/month=02/SocieteGenerale_20240229.csv';
const MANIFEST_KEY = 'extracts/_manifests/year=2024/month=02/manifest.json';

// Bank 1: the address of branch 101 holds a comma, quotes and a line break, so the file has 4 lines and 2 rows.
const FNB_CSV =
  EXTRACT_HEADER +
  'First National Bank,101,"Shop 33, ""Menlyn Park""\nNelson Mandela Drive",2024-02,130,27894012,343,69793470,23264490.00\n' +
  'First National Bank,102,95 Voortrekker Road,2024-02,0,0,2,1500,500.00\n';
// Bank 2: amounts above 2^53, where a float sum would be off.
const NED_CSV =
  EXTRACT_HEADER +
  'Nedbank,201,61 Louis Botha Avenue,2024-02,3,9007199254740993,3,9007199254740993,3002399751580331.00\n' +
  'Nedbank,202,Église Street 1,2024-02,4,9007199254740993,4,9007199254740993,3002399751580331.00\n';

const FNB_PARQUET = 'PAR1 (First National Bank rows) PAR1';
const NED_PARQUET = 'PAR1 (Nedbank rows) PAR1';
const FNB_ANALYTICS_KEY = 'analytics/bank_name=FirstNationalBank/year=2024/month=02/FirstNationalBank_20240229.parquet';
const NED_ANALYTICS_KEY = 'analytics/bank_name=Nedbank/year=2024/month=02/Nedbank_20240229.parquet';

const sha256 = (text: string) => createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');

/** The staging layout the extract job leaves (see functions/core/staging-layout.ts), as Spark writes it. */
function stage(store: MemoryStore, overrides: Record<string, string | null> = {}): void {
  const objects: Record<string, string | null> = {
    'entities/part-00000-exec-1.json':
      '{"id":1,"name":"First National Bank"}\n{"id":2,"name":"Nedbank"}\n{"id":3,"name":"Société Générale"}\n',
    'entities/_SUCCESS': '',
    'rejected/part-00000-exec-1.json': '{"reason":"null_amount","row_count":7}\n{"reason":"null_loan_date","row_count":27}\n',
    'rejected/part-00001-exec-1.json': '{"reason":"null_amount","row_count":1}\n',
    'source_rows/part-00000-exec-1.json': '{"table":"bank","row_count":3}\n{"table":"loans","row_count":12440}\n',
    'rows/_SUCCESS': '',
    'rows/bank_id=1/part-00000-exec-1.c000.csv': FNB_CSV,
    'rows/bank_id=1/part-00001-exec-1.c000.csv': '', // empty Spark partition: 0 bytes
    'rows/bank_id=1/part-00002-exec-1.c000.csv': EXTRACT_HEADER, // empty Spark partition: header only
    'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV,
    // bank 3 has no branches: Spark wrote no part for it
    // The analysts' Parquet copies (publishing copies them as they are; their content is the job's).
    'analytics/bank_id=1/part-00000-exec-1.c000.parquet': FNB_PARQUET,
    'analytics/bank_id=2/part-00003-exec-1.c000.parquet': NED_PARQUET,
    ...overrides,
  };
  for (const [key, body] of Object.entries(objects)) if (body !== null) store.seed(S + key, body);
}

function staged(): MemoryStore {
  const store = new MemoryStore();
  stage(store);
  return store;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the publish to fail');
}

describe('publishExtracts', () => {
  it('publishes exactly one file per staged bank, byte for byte, at the contract keys', async () => {
    const store = staged();
    const result = await publishExtracts(store, ledger, run, NOW);

    expect(store.keys('extracts/')).toEqual([FNB_KEY, NED_KEY, SG_KEY, MANIFEST_KEY].sort());
    expect(store.text(FNB_KEY)).toBe(FNB_CSV);
    expect(store.text(NED_KEY)).toBe(NED_CSV);
    // No part for bank 3: the header alone.
    expect(store.text(SG_KEY)).toBe(EXTRACT_HEADER);
    expect(result.files.map((f) => f.key)).toEqual([FNB_KEY, NED_KEY, SG_KEY]);
    expect(result.manifestKey).toBe(MANIFEST_KEY);
    expect(result.alreadyPublished).toBe(false);
  });

  it('renames by server-side copy, writes the manifest last, then deletes staging (entities list first)', async () => {
    const store = staged();
    await publishExtracts(store, ledger, run, NOW);

    expect(store.writes).toEqual([
      `copy ${S}analytics/bank_id=1/part-00000-exec-1.c000.parquet -> ${FNB_ANALYTICS_KEY}`,
      `copy ${S}analytics/bank_id=2/part-00003-exec-1.c000.parquet -> ${NED_ANALYTICS_KEY}`,
      `copy ${S}rows/bank_id=1/part-00000-exec-1.c000.csv -> ${FNB_KEY}`,
      `copy ${S}rows/bank_id=2/part-00003-exec-1.c000.csv -> ${NED_KEY}`,
      `put ${SG_KEY}`,
      `put ${MANIFEST_KEY}`,
      `deleteMany ${S}entities/_SUCCESS ${S}entities/part-00000-exec-1.json`,
      expect.stringMatching(/^deleteMany /),
    ]);
    expect(store.keys(S)).toEqual([]);
  });

  it('writes a manifest whose counts, sizes, SHA-256 and control totals match the files', async () => {
    const store = staged();
    const result = await publishExtracts(store, ledger, run, NOW);
    const manifest = JSON.parse(store.text(MANIFEST_KEY)!);

    expect(manifest).toEqual({
      month: '2024-02',
      runId: 'exec-1',
      generatedAt: '2024-03-01T00:05:00.000Z',
      sourceRowsRead: { bank: 3, loans: 12440 },
      rowsRejected: { null_amount: 8, null_loan_date: 27 },
      files: [
        {
          key: FNB_KEY,
          bankId: 1,
          bankName: 'First National Bank',
          rows: 2,
          bytes: Buffer.byteLength(FNB_CSV),
          sha256: sha256(FNB_CSV),
          controlTotals: { loan_count: '130', loan_amount: '27894012' },
        },
        {
          key: NED_KEY,
          bankId: 2,
          bankName: 'Nedbank',
          rows: 2,
          bytes: Buffer.byteLength(NED_CSV),
          sha256: sha256(NED_CSV),
          controlTotals: { loan_count: '7', loan_amount: '18014398509481986' },
        },
        {
          key: SG_KEY,
          bankId: 3,
          bankName: 'Société Générale',
          rows: 0,
          bytes: Buffer.byteLength(EXTRACT_HEADER),
          sha256: sha256(EXTRACT_HEADER),
          controlTotals: { loan_count: '0', loan_amount: '0' },
        },
      ],
    });
    // What the state machine gets is what the manifest says.
    expect(result.files).toEqual(manifest.files);
    // And the manifest describes the published bytes, not just the staged ones.
    for (const file of manifest.files) {
      expect(sha256(store.text(file.key)!)).toBe(file.sha256);
      expect(Buffer.byteLength(store.text(file.key)!)).toBe(file.bytes);
    }
  });

  it('counts a row whose quoted field holds a line break once, whatever the chunking', async () => {
    for (const chunkSize of [1, 3, 64 * 1024]) {
      const store = new MemoryStore(true, chunkSize);
      stage(store);
      const result = await publishExtracts(store, ledger, run, NOW);
      expect(result.files[0]).toMatchObject({ key: FNB_KEY, rows: 2, sha256: sha256(FNB_CSV) });
      expect(result.files[1]).toMatchObject({ key: NED_KEY, rows: 2, sha256: sha256(NED_CSV) });
    }
  });

  describe('with folder markers in the staging (EMRFS `<dir>_$folder$` from Glue, S3A and console `<dir>/`)', () => {
    const FOLDERS = ['rows', 'entities', 'rejected', 'source_rows', 'rows/bank_id=1', 'rows/bank_id=2', 'rows/bank_id=3'];
    /** Zero-byte markers of both kinds for every folder, bank 3's (which has no part) included, and the prefix's own `/`. */
    const MARKERS: Record<string, string> = Object.fromEntries([
      ['', ''],
      ...FOLDERS.flatMap((folder) => [
        [`${folder}/`, ''],
        [`${folder}_$folder$`, ''],
      ]),
    ]);

    it('publishes the same files, bytes and manifest as the same staging without them', async () => {
      const plain = staged();
      const marked = new MemoryStore();
      stage(marked, MARKERS);
      expect(marked.keys(S)).toEqual(expect.arrayContaining([S, `${S}rows/bank_id=3/`, `${S}rows/bank_id=3_$folder$`, `${S}rows_$folder$`, `${S}entities/`]));

      const expected = await publishExtracts(plain, ledger, run, NOW);
      const result = await publishExtracts(marked, ledger, run, NOW);

      expect({ ...result, stagingCleanup: undefined }).toEqual({ ...expected, stagingCleanup: undefined });
      expect(marked.keys('extracts/')).toEqual(plain.keys('extracts/'));
      for (const key of plain.keys('extracts/')) expect(marked.text(key)).toBe(plain.text(key));
      expect(marked.text(MANIFEST_KEY)).toBe(plain.text(MANIFEST_KEY));
    });

    it('deletes them with the rest of the staging, leaving nothing under the prefix', async () => {
      const store = new MemoryStore();
      stage(store, MARKERS);
      const stagedCount = store.keys(S).length;

      const result = await publishExtracts(store, ledger, run, NOW);
      expect(result.stagingCleanup).toEqual({ deletedObjects: stagedCount });
      expect(store.keys(S)).toEqual([]);
    });

    it.each([
      ['rows/bank_id=2/', NED_CSV],
      ['rows/bank_id=2_$folder$', NED_CSV],
      ['rows_$folder$', 'x'],
      ['entities/', '{"id":9,"name":"Absa"}\n'],
      ['rejected/', '{"reason":"null_amount","row_count":1}\n'],
      ['source_rows_$folder$', '{"table":"loans","row_count":1}\n'],
    ])('refuses a non-empty object named like a marker (%s), naming it, and publishes nothing', async (key, body) => {
      const store = new MemoryStore();
      stage(store, { ...MARKERS, [key]: body });

      const error = await failure(publishExtracts(store, ledger, run, NOW));
      expect(error).toBeInstanceOf(StagingError);
      expect(error.message).toContain(`${S}${key} is named like a folder marker but holds ${Buffer.byteLength(body)} bytes`);
      expect(store.writes).toEqual([]);
    });

    it('takes a folder that holds only markers for a missing one', async () => {
      const store = new MemoryStore();
      stage(store, { ...MARKERS, 'entities/part-00000-exec-1.json': null, 'entities/_SUCCESS': null });
      await expect(publishExtracts(store, ledger, run, NOW)).rejects.toThrow(/No entities\/ list/);
      expect(store.writes).toEqual([]);
    });
  });

  it('refuses several non-empty parts for one bank, naming them, and publishes nothing', async () => {
    const store = new MemoryStore();
    const second = EXTRACT_HEADER + 'Nedbank,203,Pier 1,2024-02,1,10,1,10,3.33\n';
    stage(store, { 'rows/bank_id=2/part-00004-exec-1.c000.csv': second });

    const error = await failure(publishExtracts(store, ledger, run, NOW));
    expect(error).toBeInstanceOf(StagingError);
    expect(error.message).toContain('Bank 2 "Nedbank" has 2 part files with rows');
    expect(error.message).toContain(`${S}rows/bank_id=2/part-00003-exec-1.c000.csv`);
    expect(error.message).toContain(`${S}rows/bank_id=2/part-00004-exec-1.c000.csv`);
    expect(store.writes).toEqual([]);
  });

  it.each([
    ['a header that is not the contract\'s', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace('loan_amount,', 'amount,') }, /header is/],
    ['a byte order mark', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': `\uFEFF${NED_CSV}` }, /byte order mark/],
    ['CRLF line ends', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace(/\n/g, '\r\n') }, /carriage return/],
    ['a truncated part', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.slice(0, -20) }, /no line break/],
    ['an unclosed quote', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': `${EXTRACT_HEADER}Nedbank,201,"open,2024-02,1,1,1,1,0.33\n` }, /never closed/],
    ['a header-only part with the wrong header', { 'rows/bank_id=1/part-00002-exec-1.c000.csv': 'bank,branch\n' }, /header is "bank,branch"/],
    ['a row of another month', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace('2024-02', '2024-01') }, /month "2024-01", not 2024-02/],
    ['a row of another bank', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace('Nedbank,202', 'Absa,202') }, /bank "Absa", not "Nedbank"/],
    ['rows not sorted by branch_id', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace('Nedbank,202', 'Nedbank,200') }, /sorted by branch_id/],
    ['a loan amount that is not a whole number', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace(',9007199254740993,3,', ',90.5,3,') }, /loan_amount "90.5"/],
    ['a missing field', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace(',2024-02,4,', ',4,') }, /row 2 has 8 fields/],
    ['a part of a bank not in the entities list', { 'rows/bank_id=9/part-00009-exec-1.c000.csv': NED_CSV }, /id 9, which is not in the staged entities\/ list/],
    ['a stray object among the rows', { 'rows/bank_id=2/notes.txt': 'x' }, /Unexpected object/],
    ['no entities list', { 'entities/part-00000-exec-1.json': null, 'entities/_SUCCESS': null }, /No entities\/ list/],
    ['no rejected counts', { 'rejected/part-00000-exec-1.json': null, 'rejected/part-00001-exec-1.json': null }, /No rejected\//],
    ['no source row counts', { 'source_rows/part-00000-exec-1.json': null }, /No source_rows\//],
    ['an entities line that is not JSON', { 'entities/part-00000-exec-1.json': '{"id":1,\n' }, /line 1 is not JSON/],
    ['a bank listed twice', { 'entities/part-00000-exec-1.json': '{"id":1,"name":"A"}\n{"id":1,"name":"B"}\n' }, /id 1 is listed twice/],
    ['an entity id that is not a whole number', { 'entities/part-00000-exec-1.json': '{"id":"1","name":"A"}\n' }, /id "1" is not a whole number/],
    ['a moving average without exactly two decimals', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace('3002399751580331.00\n', '3002399751580331.0\n') }, /row 1 has moving_avg_3m "3002399751580331.0", not a number with exactly two decimals/],
    ['a 3-month count below zero', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace(',3,9007199254740993,3002', ',-3,9007199254740993,3002') }, /row 1 has loan_count_3m "-3", not a whole number of at least 0/],
    ['an empty (NULL) number', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace(',2024-02,4,', ',2024-02,,') }, /row 2 has no loan_count \(NULL\); only text columns may be empty/],
    ['a month that is not YYYY-MM', { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace(/2024-02/g, '2024-2') }, /month "2024-2", not a month YYYY-MM/],
    ['a bank with rows and no Parquet part', { 'analytics/bank_id=2/part-00003-exec-1.c000.parquet': null }, /Bank 2 "Nedbank" has 0 Parquet parts/],
    ['two Parquet parts for one bank', { 'analytics/bank_id=2/part-00004-exec-1.c000.parquet': 'PAR1 more PAR1' }, /Bank 2 "Nedbank" has 2 Parquet parts/],
    ['Parquet rows for a bank whose CSV has none', { 'analytics/bank_id=3/part-00005-exec-1.c000.parquet': 'PAR1 PAR1' }, /bank 3, whose CSV has none/],
    ['a stray object among the Parquet parts', { 'analytics/bank_id=2/notes.txt': 'x' }, /Unexpected object .* in the staged analytics/],
  ])('validates before touching any final key: %s', async (_what, overrides, message) => {
    const store = new MemoryStore();
    stage(store, overrides);
    const error = await failure(publishExtracts(store, ledger, run, NOW));
    expect(error).toBeInstanceOf(StagingError);
    expect(error.message).toMatch(message);
    expect(store.writes).toEqual([]);
  });

  it('names the offending part file in a content error', async () => {
    const store = new MemoryStore();
    stage(store, { 'rows/bank_id=2/part-00003-exec-1.c000.csv': NED_CSV.replace(/\n/g, '\r\n') });
    expect((await failure(publishExtracts(store, ledger, run, NOW))).message).toContain(`${S}rows/bank_id=2/part-00003-exec-1.c000.csv is not a valid extract file: line 1:`);
  });

  it('refuses bank names that collide or fold to nothing, naming the banks, before writing anything', async () => {
    const store = new MemoryStore();
    stage(store, {
      'entities/part-00000-exec-1.json':
        '{"id":1,"name":"First National Bank"}\n{"id":2,"name":"Nedbank"}\n{"id":3,"name":"First-National Bank"}\n{"id":4}\n',
    });
    const error = await failure(publishExtracts(store, ledger, run, NOW));
    expect(error).toBeInstanceOf(EntityNamingError);
    expect(error.message).toContain('bank 1 "First National Bank" and bank 3 "First-National Bank"');
    expect(error.message).toContain('bank 4 "" has no letter or digit');
    expect(store.writes).toEqual([]);
    expect(store.keys(S).length).toBeGreaterThan(0);
  });

  it('overwrites an existing final file of the month, keeping the old one as a previous version', async () => {
    const store = staged();
    store.seed(FNB_KEY, `${EXTRACT_HEADER}First National Bank,101,old,2024-02,1,1,1,1,0.33\n`);
    await publishExtracts(store, ledger, run, NOW);
    expect(store.text(FNB_KEY)).toBe(FNB_CSV);
    expect(store.versionCount(FNB_KEY)).toBe(2);
  });

  describe('when a write fails half way', () => {
    const OLD = { [FNB_KEY]: 'old FNB\n', [NED_KEY]: 'old Nedbank\n', [SG_KEY]: 'old SG\n', [MANIFEST_KEY]: '{"old":true}\n' };

    function withPreviousMonth(versioned: boolean): MemoryStore {
      const store = new MemoryStore(versioned);
      for (const [key, body] of Object.entries(OLD)) store.seed(key, body);
      stage(store);
      return store;
    }

    it('puts back the files already replaced, leaves the others untouched and rethrows', async () => {
      const store = withPreviousMonth(true);
      const stagedKeys = store.keys(S);
      store.failWhen = (op, key) => op === 'copy' && key === NED_KEY;

      const error = await failure(publishExtracts(store, ledger, run, NOW));
      expect(error.message).toBe(`copy to ${NED_KEY} failed`);
      for (const [key, body] of Object.entries(OLD)) expect(store.text(key)).toBe(body);
      // Nedbank's copy never landed and Société Générale's and the manifest were never reached: no new versions.
      expect(store.versionCount(NED_KEY)).toBe(1);
      expect(store.versionCount(SG_KEY)).toBe(1);
      expect(store.versionCount(MANIFEST_KEY)).toBe(1);
      // Staging stays for a retry.
      expect(store.keys(S)).toEqual(stagedKeys);
    });

    it('removes files that did not exist before when the manifest cannot be written', async () => {
      const store = staged();
      store.failWhen = (op, key) => op === 'put' && key === MANIFEST_KEY;

      await failure(publishExtracts(store, ledger, run, NOW));
      expect(store.keys('extracts/')).toEqual([]);
      expect(store.keys(S).length).toBeGreaterThan(0);
    });

    it('refuses to replace files in a bucket that keeps no versions, before writing anything', async () => {
      // Without versions a crash mid-publish could not be rolled back (core/publish-journal.ts).
      const store = withPreviousMonth(false);
      const error = await failure(publishExtracts(store, ledger, run, NOW));
      expect(error.message).toMatch(/has no version id: the extract bucket must keep versions/);
      expect(store.writes).toEqual([]);
      for (const [key, body] of Object.entries(OLD)) expect(store.text(key)).toBe(body);
    });

    it('closes its journal once the rollback is done, so the month is clean for the next run', async () => {
      const store = withPreviousMonth(true);
      store.failWhen = (op, key) => op === 'copy' && key === NED_KEY;
      await failure(publishExtracts(store, ledger, run, NOW));
      expect(ledger.journals.size).toBe(0);
    });

    it('says which files could not be put back when the rollback fails too', async () => {
      const store = withPreviousMonth(true);
      let copiesToFnb = 0;
      // Nedbank's copy fails, then so does putting First National Bank's previous version back.
      store.failWhen = (op, key) => op === 'copy' && (key === NED_KEY || (key === FNB_KEY && ++copiesToFnb > 1));

      const error = await failure(publishExtracts(store, ledger, run, NOW));
      expect(error).toBeInstanceOf(PublishRollbackError);
      expect(error.message).toContain(`copy to ${NED_KEY} failed`);
      expect(error.message).toContain(`could not be rolled back for these files: ${FNB_KEY}`);
      // The journal stays open: the next actor on the month tries the rollback again.
      expect(ledger.journals.get('loan-moving-average 2024-02')?.runId).toBe('exec-1');
    });
  });

  describe('after a crash mid-publish (the run dies: no catch, no rollback of its own)', () => {
    const OLD = { [FNB_KEY]: 'old FNB\n', [NED_KEY]: 'old Nedbank\n', [SG_KEY]: 'old SG\n', [MANIFEST_KEY]: '{"old":true}\n' };
    const NEXT = new Date('2024-03-01T06:00:00.000Z');

    /** Starts a publish that dies at the given write; returns once it is stuck there. */
    async function crashAt(store: MemoryStore, operation: string, key: string): Promise<void> {
      store.haltWhen = (op, k) => op === operation && k === key;
      const crashed = store.halted();
      void publishExtracts(store, ledger, run, NOW);
      await crashed;
      store.haltWhen = () => false;
    }

    function finalKeysAndBodies(store: MemoryStore): Record<string, string | undefined> {
      return Object.fromEntries(store.keys('extracts/').map((k) => [k, store.text(k)]));
    }

    it.each([
      ['the first copy', 'copy', FNB_KEY],
      ['the second copy', 'copy', NED_KEY],
      ['the header-only put', 'put', SG_KEY],
      ['the manifest', 'put', MANIFEST_KEY],
    ])('a new month killed at %s: the next actor removes every file the run wrote', async (_, op, key) => {
      const store = staged();
      await crashAt(store, op, key);
      expect(ledger.journals.get('loan-moving-average 2024-02')?.runId).toBe('exec-1');

      const settled = await settleUnfinishedPublish(store, ledger, 'loan-moving-average', '2024-02', NEXT);
      expect(settled.kind).toBe('rolled-back');
      expect(store.keys('extracts/')).toEqual([]);
      expect(store.keys('analytics/')).toEqual([]);
      expect(ledger.journals.size).toBe(0);
    });

    it.each([
      ['the second copy', 'copy', NED_KEY],
      ['the header-only put', 'put', SG_KEY],
      ['the manifest', 'put', MANIFEST_KEY],
    ])('a forced re-publish over changed data killed at %s: the previous files and manifest are back, byte for byte', async (_, op, key) => {
      const store = new MemoryStore();
      for (const [k, body] of Object.entries(OLD)) store.seed(k, body);
      stage(store);
      await crashAt(store, op, key);
      expect(finalKeysAndBodies(store)).not.toEqual(OLD);

      const settled = await settleUnfinishedPublish(store, ledger, 'loan-moving-average', '2024-02', NEXT);
      expect(settled).toMatchObject({ kind: 'rolled-back', runId: 'exec-1' });
      expect(finalKeysAndBodies(store)).toEqual(OLD);
    });

    it('killed after the manifest was written: the files stand and the journal is closed', async () => {
      const store = staged();
      // The manifest is written last: a crash after it (while closing the journal) finds a complete month.
      let crashed: () => void = () => undefined;
      const dead = new Promise<void>((resolve) => (crashed = resolve));
      const ending = jest.spyOn(ledger, 'endPublish').mockImplementationOnce(() => {
        crashed();
        return new Promise<never>(() => undefined);
      });
      void publishExtracts(store, ledger, run, NOW);
      await dead;
      ending.mockRestore();

      const settled = await settleUnfinishedPublish(store, ledger, 'loan-moving-average', '2024-02', NEXT);
      expect(settled).toEqual({ kind: 'completed', runId: 'exec-1', executionArn: run.executionArn, manifestKey: MANIFEST_KEY });
      expect(store.text(FNB_KEY)).toBe(FNB_CSV);
      expect(JSON.parse(store.text(MANIFEST_KEY)!).runId).toBe('exec-1');
      expect(ledger.journals.size).toBe(0);
    });

    it('a retried invocation of the same run settles its dead attempt first, then publishes', async () => {
      const store = new MemoryStore();
      for (const [k, body] of Object.entries(OLD)) store.seed(k, body);
      stage(store);
      await crashAt(store, 'put', SG_KEY);

      const retry = await publishExtracts(store, ledger, run, NEXT);
      expect(retry.settled.kind).toBe('rolled-back');
      expect(store.text(FNB_KEY)).toBe(FNB_CSV);
      expect(store.text(SG_KEY)).toBe(EXTRACT_HEADER);
      expect(JSON.parse(store.text(MANIFEST_KEY)!).runId).toBe('exec-1');
      expect(ledger.journals.size).toBe(0);
    });

    it('settling twice changes nothing the second time', async () => {
      const store = staged();
      await crashAt(store, 'copy', NED_KEY);
      await settleUnfinishedPublish(store, ledger, 'loan-moving-average', '2024-02', NEXT);
      const writes = store.writes.length;
      expect(await settleUnfinishedPublish(store, ledger, 'loan-moving-average', '2024-02', NEXT)).toEqual({ kind: 'none' });
      expect(store.writes.length).toBe(writes);
    });

    it('the failure path of another execution leaves the journal alone', async () => {
      const store = staged();
      await crashAt(store, 'copy', NED_KEY);
      const other = 'arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-dev:exec-2';
      expect(await settleUnfinishedPublish(store, ledger, 'loan-moving-average', '2024-02', NEXT, other)).toEqual({ kind: 'none' });
      expect(store.text(FNB_KEY)).toBe(FNB_CSV);
      expect(ledger.journals.size).toBe(1);
    });

    it('an execution that no longer holds the month writes nothing', async () => {
      const store = staged();
      ledger.holder = 'arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-dev:exec-2';
      await expect(publishExtracts(store, ledger, run, NOW)).rejects.toThrow(/held by/);
      expect(store.keys('extracts/')).toEqual([]);
    });
  });

  it('publishes branches and banks with negative ids (signed int primary keys), in branch_id order', async () => {
    const store = new MemoryStore();
    const negative = `${EXTRACT_HEADER}Nedbank,-7,Minus Road,2024-02,1,5,1,5,1.67\nNedbank,-2,Less Lane,2024-02,0,0,0,0,0.00\nNedbank,3,Plus Street,2024-02,0,0,0,0,0.00\n`;
    stage(store, {
      'entities/part-00000-exec-1.json': '{"id":-2,"name":"Nedbank"}\n',
      'rows/bank_id=1/part-00000-exec-1.c000.csv': null,
      'rows/bank_id=1/part-00001-exec-1.c000.csv': null,
      'rows/bank_id=1/part-00002-exec-1.c000.csv': null,
      'rows/bank_id=2/part-00003-exec-1.c000.csv': null,
      'rows/bank_id=-2/part-00003-exec-1.c000.csv': negative,
      'analytics/bank_id=1/part-00000-exec-1.c000.parquet': null,
      'analytics/bank_id=2/part-00003-exec-1.c000.parquet': null,
      'analytics/bank_id=-2/part-00003-exec-1.c000.parquet': NED_PARQUET,
    });
    const result = await publishExtracts(store, ledger, run, NOW);
    expect(result.files).toMatchObject([{ key: NED_KEY, bankId: -2, rows: 3, controlTotals: { loan_count: '1', loan_amount: '5' } }]);
    expect(store.text(NED_KEY)).toBe(negative);
  });

  it('publishes the analysts\' Parquet copy of each bank with rows under analytics/, and none for a bank without', async () => {
    const store = staged();
    await publishExtracts(store, ledger, run, NOW);
    expect(store.keys('analytics/')).toEqual([FNB_ANALYTICS_KEY, NED_ANALYTICS_KEY]);
    expect(store.text(FNB_ANALYTICS_KEY)).toBe(FNB_PARQUET);
  });


  it('publishes the same staging twice to the same files', async () => {
    const store = staged();
    const first = await publishExtracts(store, ledger, run, NOW);
    const firstFiles = [FNB_KEY, NED_KEY, SG_KEY].map((k) => store.text(k));
    const firstManifest = JSON.parse(store.text(MANIFEST_KEY)!);

    stage(store);
    const second = await publishExtracts(store, ledger, run, new Date('2024-03-02T00:00:00.000Z'));
    expect([FNB_KEY, NED_KEY, SG_KEY].map((k) => store.text(k))).toEqual(firstFiles);
    expect(second.files).toEqual(first.files);
    const secondManifest = JSON.parse(store.text(MANIFEST_KEY)!);
    expect(secondManifest.generatedAt).toBe('2024-03-02T00:00:00.000Z');
    expect({ ...secondManifest, generatedAt: 'x' }).toEqual({ ...firstManifest, generatedAt: 'x' });
  });

  it('answers a retried invocation after a complete publish from the manifest, rewriting nothing', async () => {
    const store = staged();
    const first = await publishExtracts(store, ledger, run, NOW);
    const writesBefore = store.writes.length;

    const again = await publishExtracts(store, ledger, run, NOW);
    expect(again).toMatchObject({ alreadyPublished: true, files: first.files, manifestKey: MANIFEST_KEY });
    expect(store.writes.slice(writesBefore).filter((w) => !w.startsWith('deleteMany'))).toEqual([]);
  });

  it('finishes a cleanup that was cut short after the entities list was deleted', async () => {
    const store = staged();
    store.failWhen = (op, key) => op === 'deleteMany' && key.includes('/rows/');
    const first = await publishExtracts(store, ledger, run, NOW);
    expect(first.stagingCleanup.error).toMatch(/was not \(fully\) deleted/);
    expect(store.text(FNB_KEY)).toBe(FNB_CSV);
    expect(store.keys(`${S}entities/`)).toEqual([]);

    store.failWhen = () => false;
    const retry = await publishExtracts(store, ledger, run, NOW);
    expect(retry.alreadyPublished).toBe(true);
    expect(store.keys(S)).toEqual([]);
  });

  it('does not take another run\'s manifest for its own', async () => {
    const store = new MemoryStore();
    store.seed(MANIFEST_KEY, JSON.stringify({ month: '2024-02', runId: 'exec-0', files: [] }));
    await expect(publishExtracts(store, ledger, run, NOW)).rejects.toThrow(/No entities\/ list/);
  });
});

describe('publishExtracts, the loan extract byte for byte', () => {
  it('writes the manifest text of the contract: fields in its order, two-space JSON, one line end', async () => {
    const store = staged();
    await publishExtracts(store, ledger, run, NOW);
    // Spelled out in the order the manifest has always been written (before extracts were
    // templated): a reordering of any field would change the published bytes.
    const file = (key: string, bankId: number, bankName: string, rows: number, text: string, loanCount: string, loanAmount: string) => ({
      key,
      bankId,
      bankName,
      rows,
      bytes: Buffer.byteLength(text),
      sha256: sha256(text),
      controlTotals: { loan_count: loanCount, loan_amount: loanAmount },
    });
    const expected = {
      month: '2024-02',
      runId: 'exec-1',
      generatedAt: '2024-03-01T00:05:00.000Z',
      sourceRowsRead: { bank: 3, loans: 12440 },
      rowsRejected: { null_amount: 8, null_loan_date: 27 },
      files: [
        file(FNB_KEY, 1, 'First National Bank', 2, FNB_CSV, '130', '27894012'),
        file(NED_KEY, 2, 'Nedbank', 2, NED_CSV, '7', '18014398509481986'),
        file(SG_KEY, 3, 'Société Générale', 0, EXTRACT_HEADER, '0', '0'),
      ],
    };
    expect(store.text(MANIFEST_KEY)).toBe(`${JSON.stringify(expected, null, 2)}\n`);
  });

  it('has the contract\'s header', () => {
    expect(EXTRACT_HEADER).toBe('bank_name,branch_id,branch_address,month,loan_count,loan_amount,loan_count_3m,loan_amount_3m,moving_avg_3m\n');
  });

  it('publishes a NULL branch address (an empty field) and a bank name with a comma, as stored', async () => {
    const store = new MemoryStore();
    const csv = `${EXTRACT_HEADER}"Bank, The",301,,2024-02,1,-5,1,-5,-1.67\n`;
    stage(store, {
      'entities/part-00000-exec-1.json': '{"id":1,"name":"First National Bank"}\n{"id":2,"name":"Nedbank"}\n{"id":3,"name":"Bank, The"}\n',
      'rows/bank_id=3/part-00004-exec-1.c000.csv': csv,
      'analytics/bank_id=3/part-00004-exec-1.c000.parquet': 'PAR1 PAR1',
    });
    const result = await publishExtracts(store, ledger, run, NOW);
    const key = 'extracts/bank_name=BankThe/year=2024/month=02/BankThe_20240229.csv';
    expect(store.text(key)).toBe(csv);
    expect(result.files.find((f) => f.key === key)).toMatchObject({ bankId: 3, bankName: 'Bank, The', rows: 1, controlTotals: { loan_count: '1', loan_amount: '-5' } });
  });
});

/**
 * The second extract (test/fixtures/extracts/client-activity): split by branch, keys by the
 * branch's id (no names), other columns with a date, no rejected SQL, no analytics.
 */
describe('publishExtracts, the client-activity extract', () => {
  const CLIENT_ACTIVITY = parseExtractDefinition(
    JSON.parse(readFileSync(join(__dirname, '../fixtures/extracts/client-activity/extract.json'), 'utf8')),
    'client-activity',
  );
  const caRun = runContextFor('2024-02', 'exec-1', { extract: CLIENT_ACTIVITY });
  const CS = caRun.stagingPrefix;
  const HEADER = 'client_id,month,loan_count,loan_amount,first_loan_date\n';
  const BRANCH7_KEY = 'extracts/client-activity/branch_id=7/2024-02/branch7_clients_20240229.csv';
  const BRANCH9_KEY = 'extracts/client-activity/branch_id=9/2024-02/branch9_clients_20240229.csv';
  const CA_MANIFEST_KEY = 'extracts/client-activity/_manifests/2024-02.json';
  const BRANCH7_CSV = `${HEADER}3,2024-02,2,1500,2024-02-03\n11,2024-02,1,9007199254740993,2024-02-29\n`;

  function stageClients(store: MemoryStore, overrides: Record<string, string | null> = {}): void {
    const objects: Record<string, string | null> = {
      // Addresses that would fold to nothing or to the same name: keys by id need no naming.
      'entities/part-00000-exec-1.json': '{"id":7,"name":"12 Main Road, Cape Town"}\n{"id":9,"name":"***"}\n{"id":10}\n{"id":11,"name":"12 Main Road Cape Town"}\n',
      'source_rows/part-00000-exec-1.json': '{"table":"branch","row_count":4}\n{"table":"loans","row_count":3}\n',
      'rows/branch_id=7/part-00000-exec-1.c000.csv': BRANCH7_CSV,
      'rows/branch_id=9/part-00001-exec-1.c000.csv': HEADER,
      ...overrides,
    };
    for (const [key, body] of Object.entries(objects)) if (body !== null) store.seed(CS + key, body);
  }

  it('reads its definition from the fixture folder', () => {
    expect(CLIENT_ACTIVITY.id).toBe('client-activity');
    expect(CS).toBe('staging/extract=client-activity/month=2024-02/run=exec-1/');
  });

  it('publishes one file per branch at its keys, and the manifest with branchId and branchAddress', async () => {
    const store = new MemoryStore();
    stageClients(store);
    const result = await publishExtracts(store, ledger, caRun, NOW);

    expect(store.keys('extracts/')).toEqual([
      BRANCH11_KEY(),
      CA_MANIFEST_KEY,
      BRANCH10_KEY(),
      BRANCH7_KEY,
      BRANCH9_KEY,
    ].sort());
    expect(store.keys('analytics/')).toEqual([]);
    expect(store.text(BRANCH7_KEY)).toBe(BRANCH7_CSV);
    expect(store.text(BRANCH9_KEY)).toBe(HEADER);
    expect(result.manifestKey).toBe(CA_MANIFEST_KEY);

    const branch = (key: string, branchId: number, branchAddress: string, rows: number, text: string, loanCount: string, loanAmount: string) => ({
      key,
      branchId,
      branchAddress,
      rows,
      bytes: Buffer.byteLength(text),
      sha256: sha256(text),
      controlTotals: { loan_count: loanCount, loan_amount: loanAmount },
    });
    const expected = {
      month: '2024-02',
      runId: 'exec-1',
      generatedAt: '2024-03-01T00:05:00.000Z',
      sourceRowsRead: { branch: 4, loans: 3 },
      // No rejected SQL, no rejected/ folder: nothing left out.
      rowsRejected: {},
      files: [
        branch(BRANCH10_KEY(), 10, '', 0, HEADER, '0', '0'),
        branch(BRANCH11_KEY(), 11, '12 Main Road Cape Town', 0, HEADER, '0', '0'),
        branch(BRANCH7_KEY, 7, '12 Main Road, Cape Town', 2, BRANCH7_CSV, '3', '9007199254742493'),
        branch(BRANCH9_KEY, 9, '***', 0, HEADER, '0', '0'),
      ],
    };
    expect(store.text(CA_MANIFEST_KEY)).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    expect(result.files).toEqual(expected.files);
    expect(result.rowsRejected).toEqual({});
    expect(store.keys(CS)).toEqual([]);
    expect(openJournal(CLIENT_ACTIVITY.id)).toBeUndefined();
  });

  function BRANCH10_KEY(): string {
    return 'extracts/client-activity/branch_id=10/2024-02/branch10_clients_20240229.csv';
  }
  function BRANCH11_KEY(): string {
    return 'extracts/client-activity/branch_id=11/2024-02/branch11_clients_20240229.csv';
  }

  it('keeps its publish journal apart from the loan extract\'s of the same month', async () => {
    const store = new MemoryStore();
    stageClients(store);
    // The manifest cannot be written, and removing branch 7's new file fails too: the journal stays open.
    store.failWhen = (op, key) => (op === 'put' && key === CA_MANIFEST_KEY) || (op === 'delete' && key === BRANCH7_KEY);
    expect(await failure(publishExtracts(store, ledger, caRun, NOW))).toBeInstanceOf(PublishRollbackError);
    expect(openJournal(CLIENT_ACTIVITY.id)?.runId).toBe('exec-1');
    expect(openJournal(LOAN_EXTRACT.id)).toBeUndefined();
  });

  it.each([
    ['a row of another month', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': BRANCH7_CSV.replace('3,2024-02', '3,2024-01') }, /row 1 is for month "2024-01", not 2024-02/],
    ['client_id not sorted', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': `${HEADER}11,2024-02,1,5,2024-02-29\n3,2024-02,2,1500,2024-02-03\n` }, /row 2: client_id 3 follows 11; rows must be sorted by client_id, one per value/],
    ['a client twice', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': `${HEADER}3,2024-02,1,5,2024-02-29\n3,2024-02,2,1500,2024-02-03\n` }, /client_id 3 follows 3/],
    ['a date that is not YYYY-MM-DD', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': BRANCH7_CSV.replace('2024-02-03', '03/02/2024') }, /row 1 has first_loan_date "03\/02\/2024", not a date YYYY-MM-DD/],
    ['a date with a time', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': BRANCH7_CSV.replace('2024-02-03', '2024-02-03 00:00:00') }, /first_loan_date "2024-02-03 00:00:00", not a date/],
    ['a date that is no day of the calendar', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': BRANCH7_CSV.replace('2024-02-03', '2023-02-29') }, /first_loan_date "2023-02-29", not a date YYYY-MM-DD/],
    ['an empty (NULL) date', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': BRANCH7_CSV.replace(',2024-02-03', ',') }, /row 1 has no first_loan_date \(NULL\)/],
    ['the loan extract\'s header', { 'rows/branch_id=7/part-00000-exec-1.c000.csv': EXTRACT_HEADER }, /the extract's columns are "client_id,month,loan_count,loan_amount,first_loan_date"/],
    ['rows staged by the loan extract\'s id column', { 'rows/bank_id=7/part-00000-exec-1.c000.csv': BRANCH7_CSV }, /Unexpected object .* \(expected rows\/branch_id=<id>\/part-\*\.csv\)/],
    ['Parquet parts, which it does not publish', { 'analytics/branch_id=7/part-00000-exec-1.c000.parquet': 'PAR1 PAR1' }, /the extract has no output.keys.analytics/],
    ['rejected counts, which it has no SQL for', { 'rejected/part-00000-exec-1.json': '{"reason":"null_amount","row_count":1}\n' }, /holds rejected counts, and the extract has no rejected SQL/],
    ['no source row counts', { 'source_rows/part-00000-exec-1.json': null }, /No source_rows\//],
  ])('refuses %s, publishing nothing', async (_what, overrides, message) => {
    const store = new MemoryStore();
    stageClients(store, overrides);
    const error = await failure(publishExtracts(store, ledger, caRun, NOW));
    expect(error).toBeInstanceOf(StagingError);
    expect(error.message).toMatch(message);
    expect(store.writes).toEqual([]);
  });

  it('takes an empty rejected/ folder (no lines) as nothing rejected', async () => {
    const store = new MemoryStore();
    stageClients(store, { 'rejected/part-00000-exec-1.json': '', 'rejected/_SUCCESS': '' });
    expect((await publishExtracts(store, ledger, caRun, NOW)).rowsRejected).toEqual({});
  });

  it('refuses several parts with rows for one branch, naming the branch', async () => {
    const store = new MemoryStore();
    stageClients(store, { 'rows/branch_id=7/part-00002-exec-1.c000.csv': `${HEADER}20,2024-02,1,1,2024-02-01\n` });
    const error = await failure(publishExtracts(store, ledger, caRun, NOW));
    expect(error.message).toContain('Branch 7 "12 Main Road, Cape Town" has 2 part files with rows');
    expect(error.message).toContain('one part per branch');
  });
});

describe('PublishExtracts handler', () => {
  // JSON imports widen the definition's literal types (column types, …): the recorded event is a run as ResolveRun sends it.
  const event = recordedEvent as unknown as { run: RunContext };
  const BUCKET = 'monthly-loan-extract-test-extracts';
  const S = event.run.stagingPrefix;
  const FNB_PART = `${S}rows/bank_id=1/part-00000-${event.run.runId}.c000.csv`;
  const FNB_PARQUET_PART = `${S}analytics/bank_id=1/part-00000-${event.run.runId}.c000.parquet`;
  const FNB_CSV = `${EXTRACT_HEADER}First National Bank,101,"Shop 33, ""Menlyn Park""",2024-02,130,27894012,343,69793470,23264490.00\n`;
  const STAGED: Record<string, string> = {
    [`${S}entities/part-00000.json`]: '{"id":1,"name":"First National Bank"}\n{"id":3,"name":"Société Générale"}\n',
    [`${S}rejected/part-00000.json`]: '{"reason":"null_amount","row_count":7}\n',
    [`${S}source_rows/part-00000.json`]: '{"table":"loans","row_count":12440}\n',
    [FNB_PART]: FNB_CSV,
    [FNB_PARQUET_PART]: 'PAR1 (the rows as Parquet) PAR1',
  };
  const FNB_KEY = 'extracts/bank_name=FirstNationalBank/year=2024/month=02/FirstNationalBank_20240229.csv';
  const SG_KEY = 'extracts/bank_name=SocieteGenerale/year=2024/month=02/SocieteGenerale_20240229.csv';
  const MANIFEST_KEY = 'extracts/_manifests/year=2024/month=02/manifest.json';

  const context = {
    functionName: 'monthly-loan-extract-test-publishExtracts',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:af-south-1:123456789012:function:monthly-loan-extract-test-publishExtracts',
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;

  const s3 = mockClient(S3Client);

  function mockStagedBucket(): void {
    s3.reset();
    s3.on(ListObjectsV2Command).resolves({ Contents: Object.entries(STAGED).map(([Key, body]) => ({ Key, Size: Buffer.byteLength(body) })) });
    for (const [Key, body] of Object.entries(STAGED)) {
      s3.on(GetObjectCommand, { Key }).callsFake(() => ({ Body: Readable.from([Buffer.from(body)]) }));
    }
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
    s3.on(HeadObjectCommand, { Key: FNB_PART }).resolves({ ContentLength: Buffer.byteLength(FNB_CSV), VersionId: 'p1' });
    s3.on(HeadObjectCommand, { Key: FNB_PARQUET_PART }).resolves({ ContentLength: Buffer.byteLength(STAGED[FNB_PARQUET_PART]!), VersionId: 'p2' });
    s3.on(CopyObjectCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    s3.on(DeleteObjectsCommand).resolves({});
  }

  // The handler reads them on first use (not at import) and keeps its clients for the container's life.
  process.env.EXTRACT_BUCKET = BUCKET;
  process.env.RUN_LEDGER_TABLE = LEDGER_TABLE;

  const table = useLedgerTable();

  /** The month as ResolveRun left it: held by the event's execution. */
  async function monthHeldByTheRun(): Promise<void> {
    await table.put({
      pk: 'extract#loan-moving-average#month#2024-02',
      month: '2024-02',
      status: 'RUNNING',
      executionArn: event.run.executionArn,
      runId: event.run.runId,
      force: false,
      attempt: 1,
      leaseExpiresAt: '2999-01-01T00:00:00.000Z',
      startedAt: '2024-03-01T00:00:00.000Z',
      updatedAt: '2024-03-01T00:00:00.000Z',
      history: [],
    });
  }

  describe('publish-extracts handler', () => {
    let logLines: string[];
    beforeEach(async () => {
      mockStagedBucket();
      await monthHeldByTheRun();
      // Powertools writes JSON lines to stdout: keep them to read, and out of the test report.
      logLines = [];
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logLines.push(String(chunk));
        return true;
      });
    });
    afterEach(() => jest.restoreAllMocks());

    it('carries a recorded event whose window is the month logic\'s own', () => {
      expect(event.run.window).toEqual(monthWindow(parseMonth(event.run.month)));
      expect(event.run.stagingPrefix).toBe(stagingPrefixFor(event.run.extract.id, event.run.month, event.run.runId));
    });

    it('publishes the staged month into EXTRACT_BUCKET and returns the result for the state machine', async () => {

      const result: PublishResult = await handler(event, context);

      expect(result).toMatchObject({ month: '2024-02', runId: event.run.runId, manifestKey: MANIFEST_KEY, alreadyPublished: false });
      expect(result.files.map((f) => [f.key, f.rows, f.controlTotals.loan_amount])).toEqual([
        [FNB_KEY, 1, '27894012'],
        [SG_KEY, 0, '0'],
      ]);
      // The result crosses into Step Functions as JSON: it must survive that unchanged.
      expect(JSON.parse(JSON.stringify(result))).toEqual(result);

      expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
        Bucket: BUCKET,
        Key: FNB_KEY,
        CopySource: expect.stringContaining(`${BUCKET}/staging/extract%3Dloan-moving-average/month%3D2024-02/`),
      });
      expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: SG_KEY, Body: EXTRACT_HEADER });
      const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
      expect(puts.at(-1)!.Key).toBe(MANIFEST_KEY);
      expect(JSON.parse(String(puts.at(-1)!.Body))).toMatchObject({ month: '2024-02', runId: event.run.runId, rowsRejected: { null_amount: 7 } });
      expect(s3).toHaveReceivedCommand(DeleteObjectsCommand);
      // The journal was written to the month's record before the first copy, and closed after the manifest.
      expect(await table.item('extract#loan-moving-average#month#2024-02')).toMatchObject({ status: 'RUNNING', executionArn: event.run.executionArn });
      expect((await table.item('extract#loan-moving-average#month#2024-02'))!.publishing).toBeUndefined();
    });

    it('logs with the month, run id and execution of the run', async () => {
      await handler(event, context);

      const published = logLines.map((l) => JSON.parse(l)).find((l) => l.message === 'month published');
      expect(published).toMatchObject({
        month: '2024-02',
        runId: event.run.runId,
        executionArn: event.run.executionArn,
        manifestKey: MANIFEST_KEY,
        function_request_id: context.awsRequestId,
      });
    });

    it('fails naming EXTRACT_BUCKET when it is not set', async () => {
      const saved = process.env.EXTRACT_BUCKET;
      delete process.env.EXTRACT_BUCKET;
      try {
        // A fresh copy of the module, whose store is not created yet; it must fail before any S3 call.
        let fresh: typeof handler | undefined;
        jest.isolateModules(() => {
          fresh = (jest.requireActual('../../functions/publish-extracts') as typeof import('../../functions/publish-extracts')).handler;
        });
        await expect(fresh!(event, context)).rejects.toThrow('EXTRACT_BUCKET environment variable is not set');
      } finally {
        process.env.EXTRACT_BUCKET = saved;
      }
    });

    it('refuses a staging prefix that is not the run\'s own, since everything under it is deleted', async () => {
      for (const stagingPrefix of ['', 'staging/', 'extracts/', `${S}`.slice(0, -1), `staging/extract=loan-moving-average/month=2024-02/run=another/`, `staging/month=2024-02/run=${event.run.runId}/`]) {
        await expect(handler({ run: { ...event.run, stagingPrefix } }, context)).rejects.toMatchObject({
          name: 'InvalidPayload',
          message: `run.stagingPrefix: must be this run's staging prefix ${S}`,
        });
      }
      expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
    });
  });
});
