import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { COPY_PART_BYTES, MAX_SINGLE_COPY_BYTES, S3ObjectStore } from '../../functions/commons/clients/s3-object-store';

const s3 = mockClient(S3Client);
const BUCKET = 'extract-bucket';
const store = new S3ObjectStore(new S3Client({ region: 'af-south-1' }), BUCKET);
const PART = 'staging/month=2024-02/run=exec-1/rows/bank_id=1/part-00000-exec-1.c000.csv';
const PART_SOURCE = `${BUCKET}/staging/month%3D2024-02/run%3Dexec-1/rows/bank_id%3D1/part-00000-exec-1.c000.csv?versionId=src-v1`;
const FINAL = 'extracts/bank_name=FirstNationalBank/year=2024/month=02/FirstNationalBank_20240229.csv';

const notFound = () => new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });

beforeEach(() => s3.reset());

describe('S3ObjectStore.list', () => {
  it('follows continuation tokens through every page', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({ Contents: [{ Key: 'p/b', Size: 2 }, { Key: 'p/a', Size: 1 }], IsTruncated: true, NextContinuationToken: 't1' })
      .on(ListObjectsV2Command, { ContinuationToken: 't1' })
      .resolves({ Contents: [{ Key: 'p/c', Size: 0 }], IsTruncated: true, NextContinuationToken: 't2' })
      .on(ListObjectsV2Command, { ContinuationToken: 't2' })
      .resolves({ IsTruncated: false });

    expect(await store.list('p/')).toEqual([
      { key: 'p/a', size: 1 },
      { key: 'p/b', size: 2 },
      { key: 'p/c', size: 0 },
    ]);
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 3);
    expect(s3).toHaveReceivedNthCommandWith(2, ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'p/', ContinuationToken: 't1' });
  });
});

describe('S3ObjectStore.head and read', () => {
  it('returns size and version, or undefined when there is no object', async () => {
    s3.on(HeadObjectCommand, { Key: 'there' }).resolves({ ContentLength: 42, VersionId: 'v7' });
    s3.on(HeadObjectCommand, { Key: 'gone' }).rejects(notFound());
    expect(await store.head('there')).toEqual({ size: 42, versionId: 'v7' });
    expect(await store.head('gone')).toBeUndefined();
  });

  it('does not mistake other errors for a missing object', async () => {
    s3.on(HeadObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    await expect(store.head('x')).rejects.toThrow('Access Denied');
  });

  it('streams the body', async () => {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'k' }).resolves({ Body: Readable.from([Buffer.from('ab'), Buffer.from('c')]) as never });
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read('k')) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).toString()).toBe('abc');
  });
});

describe('S3ObjectStore.copy', () => {
  it('copies up to 5 GiB in one CopyObject of the measured version, with the extract content type', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: MAX_SINGLE_COPY_BYTES, VersionId: 'src-v1' });
    s3.on(CopyObjectCommand).resolves({});

    await store.copy(PART, FINAL, { contentType: 'text/csv; charset=utf-8' });
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: BUCKET,
      Key: FINAL,
      CopySource: PART_SOURCE,
      MetadataDirective: 'REPLACE',
      ContentType: 'text/csv; charset=utf-8',
    });
    expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
  });

  it('restores a given previous version keeping its metadata', async () => {
    s3.on(HeadObjectCommand, { Key: FINAL, VersionId: 'old' }).resolves({ ContentLength: 10, VersionId: 'old' });
    s3.on(CopyObjectCommand).resolves({});
    await store.copy(FINAL, FINAL, { sourceVersionId: 'old' });
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Key: FINAL,
      CopySource: expect.stringMatching(/\?versionId=old$/),
      MetadataDirective: 'COPY',
    });
  });

  it('copies above 5 GiB with UploadPartCopy parts that cover every byte once', async () => {
    const size = MAX_SINGLE_COPY_BYTES + 1;
    s3.on(HeadObjectCommand).resolves({ ContentLength: size, VersionId: 'src-v1' });
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
    s3.on(UploadPartCopyCommand).callsFake((input) => ({ CopyPartResult: { ETag: `"etag-${input.PartNumber}"` } }));
    s3.on(CompleteMultipartUploadCommand).resolves({});

    await store.copy(PART, FINAL, { contentType: 'text/csv; charset=utf-8' });

    expect(s3).not.toHaveReceivedCommand(CopyObjectCommand);
    expect(s3).toHaveReceivedCommandWith(CreateMultipartUploadCommand, { Bucket: BUCKET, Key: FINAL, ContentType: 'text/csv; charset=utf-8' });
    const parts = s3.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    const expectedParts = Math.ceil(size / COPY_PART_BYTES);
    expect(parts).toHaveLength(expectedParts);
    const ranges = parts
      .sort((a, b) => a.PartNumber! - b.PartNumber!)
      .map((p) => p.CopySourceRange!.match(/^bytes=(\d+)-(\d+)$/)!.slice(1).map(Number) as [number, number]);
    expect(ranges[0]![0]).toBe(0);
    expect(ranges.at(-1)![1]).toBe(size - 1);
    ranges.slice(1).forEach(([start], i) => expect(start).toBe(ranges[i]![1] + 1));
    expect(parts.every((p) => p.CopySource === PART_SOURCE && p.UploadId === 'up-1' && p.Key === FINAL)).toBe(true);
    expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      UploadId: 'up-1',
      MultipartUpload: { Parts: Array.from({ length: expectedParts }, (_, i) => ({ PartNumber: i + 1, ETag: `"etag-${i + 1}"` })) },
    });
  });

  it('aborts the multipart upload when a part fails, so nothing appears and no parts linger', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 3 * MAX_SINGLE_COPY_BYTES, VersionId: 'src-v1' });
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-2' });
    s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"e"' } }).on(UploadPartCopyCommand, { PartNumber: 3 }).rejects(new Error('SlowDown'));
    s3.on(AbortMultipartUploadCommand).resolves({});

    await expect(store.copy(PART, FINAL)).rejects.toThrow('SlowDown');
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { Bucket: BUCKET, Key: FINAL, UploadId: 'up-2' });
    expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
  });

  it('fails clearly when the source does not exist', async () => {
    s3.on(HeadObjectCommand).rejects(notFound());
    await expect(store.copy(PART, FINAL)).rejects.toThrow(`cannot copy s3://${BUCKET}/${PART}: it does not exist`);
  });
});

describe('S3ObjectStore.put and deleteMany', () => {
  it('puts with a content type', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store.put('k', 'body', 'application/json');
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: 'k', Body: 'body', ContentType: 'application/json' });
  });

  it('deletes in batches of 1,000 keys', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    await store.deleteMany(Array.from({ length: 2001 }, (_, i) => `k${i}`));
    const batches = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!.Objects!.length);
    expect(batches).toEqual([1000, 1000, 1]);
  });

  it('fails when S3 reports keys it could not delete', async () => {
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'k1', Code: 'AccessDenied', Message: 'Access Denied' }] });
    await expect(store.deleteMany(['k1', 'k2'])).rejects.toThrow('could not delete 1 object(s) in s3://extract-bucket: k1: AccessDenied Access Denied');
  });
});
