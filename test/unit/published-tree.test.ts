/**
 * What the local SFTP server shows of the extract bucket (local/sftp/published-tree.ts): `/` is
 * `extracts/`, nothing above it has a path, only the extracts delivered by SFTP are there, and every
 * call reads the S3 stand-in's store as another process (npm start) is writing it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PublishedTree, resolveClientPath } from '../../local/sftp/published-tree';
import { sftpKeyPrefixes } from '../../functions/core/extract-keys';
import { loadExtracts } from '../../extracts/folders';
import { S3Store, StoredBucketReader, type StoredBucket } from '../../local/stand-ins/s3-store';

describe('resolveClientPath', () => {
  it.each([
    ['/', []],
    ['.', []],
    ['', []],
    ['/bank_name=A/year=2024', ['bank_name=A', 'year=2024']],
    ['bank_name=A//./year=2024/', ['bank_name=A', 'year=2024']],
    ['/bank_name=A/../_manifests', ['_manifests']],
    ['/_manifests/..', []],
  ])('%j is %j below /', (path, segments) => {
    expect(resolveClientPath(path)).toEqual(segments);
  });

  it.each(['..', '/..', '../s3-store/store.json', '/_manifests/../../staging', 'a/../../b'])('%j climbs above /: no path', (path) => {
    expect(resolveClientPath(path)).toBeUndefined();
  });
});

describe('PublishedTree over the S3 stand-in store', () => {
  const BUCKET = 'monthly-loan-extract-local-extracts';
  const FILE = 'extracts/bank_name=A/year=2024/month=03/A_20240331.csv';
  let root: string;
  let store: S3Store;
  let bucket: StoredBucket;
  let tree: PublishedTree;

  const put = async (key: string, text: string) =>
    bucket.put(key, await store.ingest(Readable.from([Buffer.from(text)])), { contentType: 'text/csv', headers: {}, metadata: {} });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'published-tree-'));
    store = await S3Store.open(root, [{ name: BUCKET, versioned: true }]);
    bucket = store.bucket(BUCKET);
    // Opened before anything is written, as a server started before a run.
    tree = new PublishedTree((await StoredBucketReader.open(root, BUCKET))!, 'extracts/', ['extracts/bank_name=', 'extracts/_manifests/year=']);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('shows extracts/ as / with its prefixes as folders; staging, keys no path can name and deleted keys are not there', async () => {
    await put(FILE, 'v1');
    await put('extracts/_manifests/year=2024/month=03/manifest.json', '{}');
    await put('staging/month=2024-03/run=r/part-0.csv', 'staged');
    await put('extracts/odd/../x.csv', 'no path');
    await put('extracts/gone.csv', 'deleted');
    await bucket.delete('extracts/gone.csv', undefined);

    expect((await tree.list([]))!.map((entry) => [entry.name, entry.node.kind])).toEqual([
      ['_manifests', 'folder'],
      ['bank_name=A', 'folder'],
    ]);
    expect((await tree.list(['bank_name=A', 'year=2024', 'month=03']))!.map((entry) => entry.name)).toEqual(['A_20240331.csv']);
    expect(await tree.stat(['bank_name=A', 'year=2024', 'month=03', 'A_20240331.csv'])).toMatchObject({ kind: 'file', version: { size: 2 } });
    expect(await tree.stat(['bank_name=A'])).toMatchObject({ kind: 'folder' });
    expect(await tree.stat(['gone.csv'])).toBeUndefined();
    expect(await tree.list(['gone.csv'])).toBeUndefined();
    expect(await tree.open(['gone.csv'])).toBeUndefined();
  });

  it('opens the version current at that moment; a file already open keeps the bytes it was opened on', async () => {
    await put(FILE, 'first publish');
    const path = ['bank_name=A', 'year=2024', 'month=03', 'A_20240331.csv'];
    const before = (await tree.open(path))!;
    try {
      await put(FILE, 'republished');
      const after = (await tree.open(path))!;
      try {
        expect((await after.file.readFile()).toString()).toBe('republished');
      } finally {
        await after.file.close();
      }
      expect((await before.file.readFile()).toString()).toBe('first publish');
    } finally {
      await before.file.close();
    }
  });

  it("serves only the delivered extracts' keys: another extract's folder is neither listed nor opened", async () => {
    await put(FILE, 'loan');
    const clients = 'extracts/client-activity/branch_id=1/2024-03/branch1_clients_20240331.csv';
    await put(clients, 'client-level');
    await put('extracts/_manifests/other.json', 'not a manifest key of the loan extract');
    await put('extracts/client-activity/_manifests/2024-03.json', '{}');

    expect((await tree.list([]))!.map((entry) => entry.name)).toEqual(['bank_name=A']);
    expect(await tree.list(['client-activity'])).toBeUndefined();
    expect(await tree.stat(['client-activity', 'branch_id=1', '2024-03', 'branch1_clients_20240331.csv'])).toBeUndefined();
    expect(await tree.open(['client-activity', 'branch_id=1', '2024-03', 'branch1_clients_20240331.csv'])).toBeUndefined();
    expect(await tree.open(['_manifests', 'other.json'])).toBeUndefined();
  });

  it("takes the delivered prefixes from the definitions: the loan extract's files and manifests, not the fixture's", () => {
    const definitions = loadExtracts({ EXTRACTS_PATH: 'test/fixtures/extracts' }).map((folder) => folder.definition);
    expect(definitions.map((d) => d.id)).toEqual(['loan-moving-average', 'client-activity']);
    expect(sftpKeyPrefixes(definitions)).toEqual(['extracts/bank_name=', 'extracts/_manifests/year=']);
  });

  it('a store or bucket that does not exist yet opens no reader (nothing is published)', async () => {
    expect(await StoredBucketReader.open(join(root, 'no-store'), BUCKET)).toBeUndefined();
    expect(await StoredBucketReader.open(root, 'another-bucket')).toBeUndefined();
  });
});
