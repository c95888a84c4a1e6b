/**
 * The S3 stand-in answers as S3 does for what the pipeline uses, through the SDK: listings past
 * 1,000 keys, ETags that are the bytes' MD5 (also after a copy that replaces metadata), versioning
 * (version ids, delete markers, restoring a version by copying it), multipart uploads and copies,
 * refusals, a store that outlives the process, and the crash hook. publish's S3ObjectStore runs on it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../functions/commons/clients/s3-object-store';
import { manifestKey } from '../../functions/core/extract-keys';
import type { Manifest } from '../../functions/core/manifest';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { readPublishedMonth } from '../../local/pipeline/published-month';
import { S3_STAND_IN_CREDENTIALS, startS3StandIn, type S3StandIn } from '../../local/stand-ins/s3';
import { LOAN_EXTRACT } from '../support/run-context';

const ROOT = join(__dirname, '..', '..');
const VERSIONED = 'versioned-bucket';
const PLAIN = 'plain-bucket';
const md5 = (bytes: string | Buffer) => createHash('md5').update(bytes).digest('hex');
const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
let storeDir: string;
let s3: S3StandIn;
let client: S3Client;

const clientFor = (url: string, credentials = S3_STAND_IN_CREDENTIALS) => new S3Client({ endpoint: url, region: 'af-south-1', credentials });
const put = (Bucket: string, Key: string, Body: string | Buffer, ContentType?: string) => client.send(new PutObjectCommand({ Bucket, Key, Body, ContentType }));
const text = async (Bucket: string, Key: string, VersionId?: string) =>
  (await client.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body!.transformToString();
const head = (Bucket: string, Key: string, VersionId?: string) => client.send(new HeadObjectCommand({ Bucket, Key, VersionId }));
/** CompleteMultipartUpload of parts 1, 2, … with these ETags. */
const complete = (Bucket: string, Key: string, UploadId: string | undefined, etags: readonly (string | undefined)[]) =>
  client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }));

async function listAll(Bucket: string, Prefix: string, PageSize?: number): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let pages = 0;
  for await (const page of paginateListObjectsV2({ client, pageSize: PageSize }, { Bucket, Prefix })) {
    pages += 1;
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
  }
  return { keys, pages };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-s3-'));
  storeDir = join(dir, 'store');
  s3 = await startS3StandIn(storeDir, [{ name: VERSIONED, versioned: true }, PLAIN]);
  client = clientFor(s3.url);
});
afterAll(async () => {
  client.destroy();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

describe('listing', () => {
  const keys = Array.from({ length: 1100 }, (_, i) => `many/part-${String(i).padStart(5, '0')}.csv`);
  beforeAll(async () => {
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => put(PLAIN, key, key)));
    await put(PLAIN, 'many-not-under-the-prefix', 'x');
  });

  it('returns all 1,100 keys under one prefix, 1,000 at a time, in order', async () => {
    const { keys: listed, pages } = await listAll(PLAIN, 'many/');
    expect(pages).toBe(2);
    expect(listed).toEqual(keys);
  });

  it('honours MaxKeys, StartAfter and Delimiter', async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: PLAIN, Prefix: 'many/', MaxKeys: 3, StartAfter: keys[1096] }));
    expect(page.Contents!.map((o) => o.Key)).toEqual(keys.slice(1097, 1100));
    expect(page.IsTruncated).toBe(false);
    const top = await client.send(new ListObjectsV2Command({ Bucket: PLAIN, Delimiter: '/' }));
    expect(top.CommonPrefixes!.map((p) => p.Prefix)).toContain('many/');
    expect(top.Contents!.map((o) => o.Key)).toContain('many-not-under-the-prefix');
    expect(top.Contents!.some((o) => o.Key!.startsWith('many/'))).toBe(false);
  });

  it("lists in the order of UTF-8 bytes, with each key's size and MD5 ETag", async () => {
    const odd = ['order/a b', 'order/a+b', 'order/a=b', 'order/é', 'order/\u{1F600}', 'order/\uFF5E', 'order/./x/../y', 'order/a\\b?c#d%e'];
    for (const key of odd) await put(PLAIN, key, key);
    const page = await client.send(new ListObjectsV2Command({ Bucket: PLAIN, Prefix: 'order/' }));
    expect(page.Contents!.map((o) => o.Key)).toEqual([...odd].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(page.Contents!.map((o) => [o.Size, o.ETag])).toEqual(page.Contents!.map((o) => [Buffer.byteLength(o.Key!), `"${md5(o.Key!)}"`]));
    expect(await text(PLAIN, 'order/\u{1F600}')).toBe('order/\u{1F600}');
  });
});

describe('objects', () => {
  it('gives a copy with MetadataDirective REPLACE the MD5 of its new bytes, over an object of the same size', async () => {
    await put(PLAIN, 'copy/target.csv', 'old bytes', 'text/plain');
    await put(PLAIN, 'copy/month=2024-03/source.csv', 'new bytes');
    const copied = await client.send(
      new CopyObjectCommand({
        Bucket: PLAIN,
        Key: 'copy/target.csv',
        CopySource: `${PLAIN}/copy/month%3D2024-03/source.csv`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/csv; charset=utf-8',
      }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5('new bytes')}"`);
    const after = await head(PLAIN, 'copy/target.csv');
    expect(after).toMatchObject({ ETag: `"${md5('new bytes')}"`, ContentType: 'text/csv; charset=utf-8', ContentLength: 9 });
    expect(after.VersionId).toBeUndefined(); // an unversioned bucket has no version ids
    expect(await text(PLAIN, 'copy/target.csv')).toBe('new bytes');
  });

  it("keeps the source's type and metadata on a copy with COPY, and refuses copying an object onto itself unchanged", async () => {
    await client.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'copy/meta', Body: 'm', ContentType: 'application/json', Metadata: { origin: 'test' } }));
    await client.send(new CopyObjectCommand({ Bucket: PLAIN, Key: 'copy/meta-copy', CopySource: `${PLAIN}/copy/meta` }));
    expect(await head(PLAIN, 'copy/meta-copy')).toMatchObject({ ContentType: 'application/json', Metadata: { origin: 'test' } });
    await expect(client.send(new CopyObjectCommand({ Bucket: PLAIN, Key: 'copy/meta', CopySource: `${PLAIN}/copy/meta` }))).rejects.toMatchObject({
      name: 'InvalidRequest',
    });
    await expect(client.send(new CopyObjectCommand({ Bucket: PLAIN, Key: 'copy/x', CopySource: `${PLAIN}/copy/none` }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
  });

  it('answers a missing key with NoSuchKey (GET) and 404 (HEAD), and deletes for good in an unversioned bucket', async () => {
    await expect(text(PLAIN, 'nothing/here')).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(head(PLAIN, 'nothing/here')).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    await put(PLAIN, 'gone/soon', 'x');
    await client.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: 'gone/soon' }));
    await expect(head(PLAIN, 'gone/soon')).rejects.toMatchObject({ name: 'NotFound' });
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: PLAIN, Prefix: 'gone/' }));
    expect(versions.Versions ?? []).toEqual([]);
    expect(versions.DeleteMarkers ?? []).toEqual([]);
  });

  it('takes a streamed body (aws-chunked, checksum trailer), serves ranges, and refuses a body that does not match its Content-MD5', async () => {
    const bytes = Buffer.from('0123456789'.repeat(10_000));
    await client.send(
      new PutObjectCommand({
        Bucket: PLAIN,
        Key: 'stream/body',
        Body: Readable.from([bytes.subarray(0, 12345), bytes.subarray(12345)]),
        ContentLength: bytes.length,
      }),
    );
    expect(await head(PLAIN, 'stream/body')).toMatchObject({ ContentLength: bytes.length, ETag: `"${md5(bytes)}"` });
    const range = await client.send(new GetObjectCommand({ Bucket: PLAIN, Key: 'stream/body', Range: 'bytes=5-14' }));
    expect(range.ContentRange).toBe(`bytes 5-14/${bytes.length}`);
    expect(await range.Body!.transformToString()).toBe('5678901234');
    await expect(
      client.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'stream/bad', Body: 'abc', ContentMD5: Buffer.from(md5('abd'), 'hex').toString('base64') })),
    ).rejects.toMatchObject({ name: 'BadDigest' });
    await expect(head(PLAIN, 'stream/bad')).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('checks signatures: an unknown key id or a wrong secret is refused', async () => {
    const strangers = [
      clientFor(s3.url, { accessKeyId: 'AKIAOTHER', secretAccessKey: S3_STAND_IN_CREDENTIALS.secretAccessKey }),
      clientFor(s3.url, { ...S3_STAND_IN_CREDENTIALS, secretAccessKey: 'wrong' }),
    ];
    try {
      await expect(strangers[0]!.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'auth/x', Body: 'x' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
      await expect(strangers[1]!.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'auth/x', Body: 'x' }))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
      });
      await expect(client.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    } finally {
      strangers.forEach((c) => c.destroy());
    }
  });

  it('refuses writes under a denied prefix with AccessDenied (put, copy, multipart), and nothing else', async () => {
    await put(VERSIONED, 'deny/source', 'x');
    s3.denyWritesUnder(VERSIONED, 'deny/manifests/');
    try {
      await expect(put(VERSIONED, 'deny/manifests/m.json', 'x')).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      await expect(
        client.send(new CopyObjectCommand({ Bucket: VERSIONED, Key: 'deny/manifests/c', CopySource: `${VERSIONED}/deny/source` })),
      ).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(client.send(new CreateMultipartUploadCommand({ Bucket: VERSIONED, Key: 'deny/manifests/u' }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(put(VERSIONED, 'deny/files/f.csv', 'x')).resolves.toBeDefined();
      await expect(put(PLAIN, 'deny/manifests/m.json', 'x')).resolves.toBeDefined();
    } finally {
      s3.denyWritesUnder(VERSIONED, undefined);
    }
    await expect(put(VERSIONED, 'deny/manifests/m.json', 'x')).resolves.toBeDefined();
  });
});

describe('versioning', () => {
  it('is on for the bucket opened versioned, and off for the other', async () => {
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: VERSIONED }))).Status).toBe('Enabled');
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: PLAIN }))).Status).toBeUndefined();
  });

  it('keeps every version: HEAD gives the newest id, GET by id the old bytes, a copy of an old version restores it as a new one', async () => {
    const v1 = (await put(VERSIONED, 'v/file.csv', 'version one')).VersionId!;
    const v2 = (await put(VERSIONED, 'v/file.csv', 'version two')).VersionId!;
    expect(v1).toBeTruthy();
    expect(v2).not.toBe(v1);
    expect((await head(VERSIONED, 'v/file.csv')).VersionId).toBe(v2);
    expect(await text(VERSIONED, 'v/file.csv', v1)).toBe('version one');
    expect(await head(VERSIONED, 'v/file.csv', v1)).toMatchObject({ VersionId: v1, ETag: `"${md5('version one')}"` });

    const restored = await client.send(
      new CopyObjectCommand({ Bucket: VERSIONED, Key: 'v/file.csv', CopySource: `${VERSIONED}/v/file.csv?versionId=${encodeURIComponent(v1)}` }),
    );
    expect(restored.CopySourceVersionId).toBe(v1);
    expect([v1, v2]).not.toContain(restored.VersionId);
    expect(await head(VERSIONED, 'v/file.csv')).toMatchObject({ VersionId: restored.VersionId, ETag: `"${md5('version one')}"` });
    expect(await text(VERSIONED, 'v/file.csv')).toBe('version one');
    expect(await text(VERSIONED, 'v/file.csv', v2)).toBe('version two');

    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: VERSIONED, Prefix: 'v/file.csv' }));
    expect(versions.Versions!.map((v) => [v.VersionId, v.IsLatest])).toEqual([
      [restored.VersionId, true],
      [v2, false],
      [v1, false],
    ]);
    await expect(text(VERSIONED, 'v/file.csv', 'no-such-version')).rejects.toMatchObject({ name: 'NoSuchVersion' });
  });

  it('answers a delete with a delete marker: HEAD is 404, older versions stay readable by id, deleting the marker brings the object back', async () => {
    const v1 = (await put(VERSIONED, 'v/deleted.csv', 'still here')).VersionId!;
    const deleted = await client.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: 'v/deleted.csv' }));
    expect(deleted.DeleteMarker).toBe(true);
    expect(deleted.VersionId).toBeTruthy();
    await expect(head(VERSIONED, 'v/deleted.csv')).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(text(VERSIONED, 'v/deleted.csv')).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect(await text(VERSIONED, 'v/deleted.csv', v1)).toBe('still here');
    expect((await client.send(new ListObjectsV2Command({ Bucket: VERSIONED, Prefix: 'v/deleted' }))).KeyCount).toBe(0);
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: VERSIONED, Prefix: 'v/deleted' }));
    expect(versions.DeleteMarkers!.map((m) => [m.VersionId, m.IsLatest])).toEqual([[deleted.VersionId, true]]);
    expect(versions.Versions!.map((v) => [v.VersionId, v.IsLatest])).toEqual([[v1, false]]);
    await expect(client.send(new CopyObjectCommand({ Bucket: VERSIONED, Key: 'v/x', CopySource: `${VERSIONED}/v/deleted.csv` }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });

    await client.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: 'v/deleted.csv', VersionId: deleted.VersionId }));
    expect((await head(VERSIONED, 'v/deleted.csv')).VersionId).toBe(v1);
  });

  it('pages ListObjectVersions through its key and version markers', async () => {
    for (let i = 0; i < 5; i++) await put(VERSIONED, 'pages/k', `v${i}`);
    await put(VERSIONED, 'pages/l', 'l');
    const seen: string[] = [];
    let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await client.send(new ListObjectVersionsCommand({ Bucket: VERSIONED, Prefix: 'pages/', MaxKeys: 2, ...markers }));
      seen.push(...page.Versions!.map((v) => `${v.Key}:${v.ETag}`));
      if (!page.IsTruncated) break;
      markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    expect(seen).toEqual([...[4, 3, 2, 1, 0].map((i) => `pages/k:"${md5(`v${i}`)}"`), `pages/l:"${md5('l')}"`]);
  });
});

describe('multipart', () => {
  const part1 = Buffer.alloc(5 * 1024 * 1024, 'a');
  const part2 = Buffer.from('the last part may be small');

  it("joins the parts; the ETag is the MD5 of the parts' MD5s with the part count, as S3 computes it", async () => {
    const Key = 'multi/joined.bin';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: VERSIONED, Key, ContentType: 'text/csv' }));
    const p1 = await client.send(new UploadPartCommand({ Bucket: VERSIONED, Key, UploadId, PartNumber: 1, Body: part1 }));
    const p2 = await client.send(new UploadPartCommand({ Bucket: VERSIONED, Key, UploadId, PartNumber: 2, Body: part2 }));
    expect(p1.ETag).toBe(`"${md5(part1)}"`);
    const done = await complete(VERSIONED, Key, UploadId, [p1.ETag, p2.ETag]);
    const expected = `"${md5(Buffer.concat([Buffer.from(md5(part1), 'hex'), Buffer.from(md5(part2), 'hex')]))}-2"`;
    expect(done.ETag).toBe(expected);
    expect(await head(VERSIONED, Key)).toMatchObject({
      ETag: expected,
      ContentLength: part1.length + part2.length,
      ContentType: 'text/csv',
      VersionId: done.VersionId,
    });
    const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: VERSIONED, Key }))).Body!.transformToByteArray());
    expect(sha256(body)).toBe(sha256(Buffer.concat([part1, part2])));
    // A second Complete finds no upload.
    await expect(complete(VERSIONED, Key, UploadId, [p1.ETag])).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('copies ranges of a version with UploadPartCopy, refuses a small part that is not the last, and aborts', async () => {
    const Key = 'multi/copied.bin';
    await put(VERSIONED, 'multi/source.bin', Buffer.concat([part1, part2]));
    const { VersionId } = await head(VERSIONED, 'multi/source.bin');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: VERSIONED, Key }));
    const CopySource = `${VERSIONED}/multi/source.bin?versionId=${VersionId}`;
    const c1 = await client.send(
      new UploadPartCopyCommand({ Bucket: VERSIONED, Key, UploadId, PartNumber: 1, CopySource, CopySourceRange: `bytes=0-${part1.length - 1}` }),
    );
    const c2 = await client.send(
      new UploadPartCopyCommand({
        Bucket: VERSIONED,
        Key,
        UploadId,
        PartNumber: 2,
        CopySource,
        CopySourceRange: `bytes=${part1.length}-${part1.length + part2.length - 1}`,
      }),
    );
    expect(c1.CopyPartResult?.ETag).toBe(`"${md5(part1)}"`);
    expect(c1.CopySourceVersionId).toBe(VersionId);
    await expect(
      client.send(
        new UploadPartCopyCommand({ Bucket: VERSIONED, Key, UploadId, PartNumber: 3, CopySource, CopySourceRange: `bytes=0-${part1.length + part2.length}` }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidArgument' });
    await complete(VERSIONED, Key, UploadId, [c1.CopyPartResult?.ETag, c2.CopyPartResult?.ETag]);
    expect(sha256(Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: VERSIONED, Key }))).Body!.transformToByteArray()))).toBe(
      sha256(Buffer.concat([part1, part2])),
    );

    const small = await client.send(new CreateMultipartUploadCommand({ Bucket: VERSIONED, Key: 'multi/small' }));
    const s1 = await client.send(new UploadPartCommand({ Bucket: VERSIONED, Key: 'multi/small', UploadId: small.UploadId, PartNumber: 1, Body: part2 }));
    const s2 = await client.send(new UploadPartCommand({ Bucket: VERSIONED, Key: 'multi/small', UploadId: small.UploadId, PartNumber: 2, Body: part2 }));
    await expect(complete(VERSIONED, 'multi/small', small.UploadId, [s1.ETag, s2.ETag])).rejects.toMatchObject({ name: 'EntityTooSmall' });
    await client.send(new AbortMultipartUploadCommand({ Bucket: VERSIONED, Key: 'multi/small', UploadId: small.UploadId }));
    await expect(
      client.send(new UploadPartCommand({ Bucket: VERSIONED, Key: 'multi/small', UploadId: small.UploadId, PartNumber: 3, Body: part2 })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(head(VERSIONED, 'multi/small')).rejects.toMatchObject({ name: 'NotFound' });
  });
});

describe("publishing's S3ObjectStore", () => {
  const store = () => new S3ObjectStore(client, VERSIONED);

  it('lists past 1,000 keys, heads with version ids, copies a previous version back, deletes in batches', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `osm/staging/rows/part-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => put(VERSIONED, key, 'r')));
    expect((await store().list('osm/staging/')).map((o) => o.key)).toEqual(keys);

    await store().put('osm/final.csv', 'first\n', 'text/csv');
    const before = await store().head('osm/final.csv');
    expect(before).toEqual({ size: 6, versionId: expect.any(String) });
    await store().copy(keys[0]!, 'osm/final.csv', { contentType: 'text/csv; charset=utf-8' });
    expect(await store().head('osm/final.csv')).toMatchObject({ size: 1 });
    // publish's rollback: the previous version copied back over the key.
    await store().copy('osm/final.csv', 'osm/final.csv', { sourceVersionId: before!.versionId });
    const after = await head(VERSIONED, 'osm/final.csv');
    expect(after).toMatchObject({ ContentLength: 6, ETag: `"${md5('first\n')}"`, ContentType: 'text/csv' });
    expect(after.VersionId).not.toBe(before!.versionId);

    await store().deleteMany(keys);
    expect(await store().list('osm/staging/')).toEqual([]);
    expect(await store().head(keys[0]!)).toBeUndefined();
  });

  it('DeleteObjects answers for every key, one that never existed too, as S3 does', async () => {
    const result = await client.send(
      new DeleteObjectsCommand({ Bucket: PLAIN, Delete: { Objects: [{ Key: 'osm/none', VersionId: 'not-a-version' }, { Key: 'osm/none2' }] } }),
    );
    expect(result.Deleted!.map((d) => d.Key)).toEqual(['osm/none', 'osm/none2']);
  });
});

describe('the store on disk', () => {
  it('survives a restart on the same folder: objects, versions and delete markers', async () => {
    const folder = join(dir, 'restart');
    const first = await startS3StandIn(folder, [{ name: VERSIONED, versioned: true }]);
    const before = clientFor(first.url);
    const v1 = (await before.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'r/a', Body: 'one' }))).VersionId!;
    const v2 = (await before.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'r/a', Body: 'two' }))).VersionId!;
    await before.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'r/b', Body: 'b' }));
    await before.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: 'r/b' }));
    before.destroy();
    await first.close();

    const second = await startS3StandIn(folder, [{ name: VERSIONED, versioned: true }]);
    const after = clientFor(second.url);
    try {
      expect((await after.send(new HeadObjectCommand({ Bucket: VERSIONED, Key: 'r/a' }))).VersionId).toBe(v2);
      expect(await (await after.send(new GetObjectCommand({ Bucket: VERSIONED, Key: 'r/a', VersionId: v1 }))).Body!.transformToString()).toBe('one');
      expect((await after.send(new ListObjectsV2Command({ Bucket: VERSIONED, Prefix: 'r/' }))).Contents!.map((o) => o.Key)).toEqual(['r/a']);
      const versions = await after.send(new ListObjectVersionsCommand({ Bucket: VERSIONED, Prefix: 'r/' }));
      expect(versions.Versions!.map((v) => v.Key)).toEqual(['r/a', 'r/a', 'r/b']);
      expect(versions.DeleteMarkers!.map((m) => m.Key)).toEqual(['r/b']);
    } finally {
      after.destroy();
      await second.close();
    }
  });

  it('refuses a folder that holds something else (an old s3rver store), naming it', async () => {
    const folder = join(dir, 'foreign');
    await mkdir(join(folder, PLAIN), { recursive: true });
    await writeFile(join(folder, PLAIN, 'x._S3rver_object'), 'x');
    await expect(startS3StandIn(folder, [PLAIN])).rejects.toThrow(`${folder} holds files that are not an S3 stand-in store`);
  });

  it('killAfterWrites: the process is killed with SIGKILL once the Nth write under the prefix is stored, before it is answered', async () => {
    const folder = join(dir, 'killed');
    const script = join(dir, 'killed.ts');
    await writeFile(
      script,
      `
      import { PutObjectCommand, DeleteObjectCommand, S3Client } from ${JSON.stringify(require.resolve('@aws-sdk/client-s3'))};
      import { S3_STAND_IN_CREDENTIALS, startS3StandIn } from ${JSON.stringify(join(ROOT, 'local', 'stand-ins', 's3'))};
      (async () => {
        const s3 = await startS3StandIn(${JSON.stringify(folder)}, [{ name: 'crash', versioned: true }]);
        const client = new S3Client({ endpoint: s3.url, region: 'af-south-1', credentials: S3_STAND_IN_CREDENTIALS });
        await client.send(new PutObjectCommand({ Bucket: 'crash', Key: 'other/not-counted', Body: 'x' }));
        s3.killAfterWrites('crash', 'out/', 3);
        await client.send(new PutObjectCommand({ Bucket: 'crash', Key: 'out/1', Body: '1' }));
        await client.send(new DeleteObjectCommand({ Bucket: 'crash', Key: 'out/never-there' }));
        await client.send(new PutObjectCommand({ Bucket: 'crash', Key: 'other/not-counted-either', Body: 'x' }));
        console.log('2 answered');
        await client.send(new PutObjectCommand({ Bucket: 'crash', Key: 'out/3', Body: '3' }));
        console.log('3 answered');
        await client.send(new PutObjectCommand({ Bucket: 'crash', Key: 'out/4', Body: '4' }));
      })();
    `,
    );
    const child = await new Promise<{ signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
      // node itself (tsx as a loader), so that the signal that ends the stand-in's process is what the test sees.
      const run = execFile(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, timeout: 60_000 }, (_error, stdout) =>
        resolve({ signal: run.signalCode, stdout }),
      );
    });
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout.trim().split('\n')).toEqual(['2 answered']);

    const after = await startS3StandIn(folder, [{ name: 'crash', versioned: true }]);
    const reader = clientFor(after.url);
    try {
      const versions = await reader.send(new ListObjectVersionsCommand({ Bucket: 'crash', Prefix: 'out/' }));
      // The third write was stored though never answered: 2 objects and 1 delete marker, no fourth.
      expect(versions.Versions!.map((v) => v.Key)).toEqual(['out/1', 'out/3']);
      expect(versions.DeleteMarkers!.map((m) => m.Key)).toEqual(['out/never-there']);
    } finally {
      reader.destroy();
      await after.close();
    }
  });
});

describe('the plain-file mirror', () => {
  const MONTH = '2024-03';
  const key = 'mirror/extracts/bank_name=X/year=2024/month=03/X_20240331.csv';
  const manifest = manifestKey(LOAN_EXTRACT, monthWindow(parseMonth(MONTH)));
  const manifestOf = (bytes: string): Manifest => ({
    month: MONTH,
    runId: 'r1',
    generatedAt: '2024-04-01T00:00:00.000Z',
    sourceRowsRead: {},
    rowsRejected: {},
    files: [
      {
        key: key.slice('mirror/'.length),
        bankId: 1,
        bankName: 'X',
        rows: 1,
        bytes: Buffer.byteLength(bytes),
        sha256: sha256(bytes),
        controlTotals: { loan_count: '1', loan_amount: '1' },
      },
    ],
  });

  it('replaces a stale plain file even of the same size and ETag-looking age, so the month checks against its manifest', async () => {
    const folder = join(dir, 'mirror-plain');
    await put(VERSIONED, key, 'h\nold\n');
    await put(VERSIONED, `mirror/${manifest}`, JSON.stringify(manifestOf('h\nold\n')));
    expect(await s3.mirrorPrefix(VERSIONED, 'mirror/', folder)).toEqual([key, `mirror/${manifest}`].sort());
    const root = join(folder, 'mirror');
    expect((await readPublishedMonth(root, MONTH))!.files.map((f) => f.matchesManifest)).toEqual([true]);

    // Republished with other bytes of the same size: the mirror must follow.
    await client.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'mirror/staging/part', Body: 'h\nnew\n' }));
    await client.send(
      new CopyObjectCommand({
        Bucket: VERSIONED,
        Key: key,
        CopySource: `${VERSIONED}/mirror/staging/part`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/csv',
      }),
    );
    await put(VERSIONED, `mirror/${manifest}`, JSON.stringify(manifestOf('h\nnew\n')));
    await s3.mirrorPrefix(VERSIONED, 'mirror/', folder);
    expect(await readFile(join(root, ...key.slice('mirror/'.length).split('/')), 'utf8')).toBe('h\nnew\n');
    expect((await readPublishedMonth(root, MONTH))!.files.map((f) => f.matchesManifest)).toEqual([true]);

    // A plain file changed behind the mirror's back does not match, and the next mirror puts it right.
    await writeFile(join(root, ...key.slice('mirror/'.length).split('/')), 'h\nbad\n');
    expect((await readPublishedMonth(root, MONTH))!.files.map((f) => f.matchesManifest)).toEqual([false]);
    await s3.mirrorPrefix(VERSIONED, 'mirror/', folder);
    expect((await readPublishedMonth(root, MONTH))!.files.map((f) => f.matchesManifest)).toEqual([true]);
  });
});
