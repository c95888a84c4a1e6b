/**
 * The ObjectStore of publishing on S3. Server-side copies only: file bytes never pass through the
 * Lambda. Objects above the single CopyObject limit (5 GiB) are copied with UploadPartCopy in parts.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { CopyOptions, ListedObject, ObjectStore, ObjectVersion } from '../../core/object-store';

/** The largest object one CopyObject may copy. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** Part size of multipart copies; raised when an object would need more than S3's 10,000 parts. */
export const COPY_PART_BYTES = 512 * 1024 ** 2;
const MAX_PARTS = 10_000;
/** Parts copied at once: fast enough for tens of GB within a Lambda's time, gentle on S3. */
const PART_COPY_CONCURRENCY = 8;
/** DeleteObjects takes at most 1,000 keys per request. */
const DELETE_BATCH = 1000;

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async list(prefix: string): Promise<ListedObject[]> {
    const objects: ListedObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async read(key: string): Promise<AsyncIterable<Uint8Array>> {
    const result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!result.Body) throw new Error(`s3://${this.bucket}/${key} returned no body`);
    // In Node the body is an http.IncomingMessage: an async iterable of Buffers.
    return result.Body as unknown as AsyncIterable<Uint8Array>;
  }

  async head(key: string): Promise<ObjectVersion | undefined> {
    const result = await this.headObject(key);
    return result && { size: result.ContentLength ?? 0, versionId: result.VersionId };
  }

  async copy(sourceKey: string, targetKey: string, options: CopyOptions = {}): Promise<void> {
    const source = await this.headObject(sourceKey, options.sourceVersionId);
    if (!source) throw new Error(`cannot copy s3://${this.bucket}/${sourceKey}: it does not exist`);
    // Pin the version we measured, so every part of a multipart copy comes from the same object.
    const copySource = copySourceOf(this.bucket, sourceKey, options.sourceVersionId ?? source.VersionId);
    const size = source.ContentLength ?? 0;
    if (size <= MAX_SINGLE_COPY_BYTES) {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: targetKey,
          CopySource: copySource,
          ...(options.contentType ? { MetadataDirective: 'REPLACE', ContentType: options.contentType } : { MetadataDirective: 'COPY' }),
        }),
      );
      return;
    }
    await this.multipartCopy(copySource, size, targetKey, options.contentType ?? source.ContentType, options.contentType ? undefined : source.Metadata);
  }

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const result = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      // DeleteObjects succeeds as a request even when single keys fail; those must not pass silently.
      const errors = result.Errors ?? [];
      if (errors.length > 0) {
        const listed = errors.slice(0, 5).map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ''}`.trim());
        throw new Error(`could not delete ${errors.length} object(s) in s3://${this.bucket}: ${listed.join('; ')}`);
      }
    }
  }

  private async headObject(key: string, versionId?: string): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async multipartCopy(
    copySource: string,
    size: number,
    targetKey: string,
    contentType: string | undefined,
    metadata: Record<string, string> | undefined,
  ): Promise<void> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: targetKey, ContentType: contentType, Metadata: metadata }),
    );
    if (!UploadId) throw new Error(`S3 gave no upload id for s3://${this.bucket}/${targetKey}`);
    try {
      const ranges = partRanges(size);
      const parts: CompletedPart[] = new Array(ranges.length);
      let next = 0;
      const worker = async () => {
        while (next < ranges.length) {
          const index = next++;
          const [start, end] = ranges[index]!;
          const result = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: targetKey,
              UploadId,
              PartNumber: index + 1,
              CopySource: copySource,
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          );
          parts[index] = { PartNumber: index + 1, ETag: result.CopyPartResult?.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(PART_COPY_CONCURRENCY, ranges.length) }, worker));
      // Until this call succeeds nothing is visible under targetKey: the copy is atomic like a small one.
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: targetKey, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (error) {
      // An abandoned upload keeps its parts (and their cost) until aborted.
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: targetKey, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}

/** Inclusive byte ranges covering `size` bytes in parts of COPY_PART_BYTES (or more, to stay within 10,000 parts). */
export function partRanges(size: number): Array<[number, number]> {
  const partSize = Math.max(COPY_PART_BYTES, Math.ceil(size / MAX_PARTS));
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < size; start += partSize) {
    ranges.push([start, Math.min(start + partSize, size) - 1]);
  }
  return ranges;
}

/** `bucket/key?versionId=…` with the key URL-encoded segment by segment, as CopySource requires. */
function copySourceOf(bucket: string, key: string, versionId: string | undefined): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
