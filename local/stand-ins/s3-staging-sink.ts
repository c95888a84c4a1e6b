/**
 * The extract job's staging sink for the local pipeline: objects go to S3 (the stand-in) under the
 * run's staging prefix, as glue/etl.py writes them on AWS. A body is streamed; one that outgrows a
 * part is sent as a multipart upload, so no object is ever held whole in memory. Text is sent as
 * UTF-8; bytes (a file the Spark engine staged, the DuckDB engine's Parquet parts) as they are.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { StagingBody, StagingSink } from '../engine/staging-sink';

/** S3's minimum part size is 5 MiB; 8 MiB keeps the part count low for large parts. */
const PART_BYTES = 8 * 1024 * 1024;

export class S3StagingSink implements StagingSink {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    /** Ends in `/`. */
    private readonly prefix: string,
  ) {}

  async putObject(relativeKey: string, body: StagingBody): Promise<void> {
    const key = `${this.prefix}${relativeKey}`;
    const chunks = typeof body === 'string' ? [body] : body;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let upload: { id: string; parts: CompletedPart[] } | undefined;
    try {
      for await (const chunk of chunks) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
        pending.push(bytes);
        pendingBytes += bytes.length;
        if (pendingBytes >= PART_BYTES) {
          upload ??= await this.startUpload(key);
          await this.sendPart(key, upload, Buffer.concat(pending));
          pending = [];
          pendingBytes = 0;
        }
      }
      if (!upload) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.concat(pending), ContentType: contentTypeOf(key) }));
        return;
      }
      if (pendingBytes > 0) await this.sendPart(key, upload, Buffer.concat(pending));
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: upload.id, MultipartUpload: { Parts: upload.parts } }),
      );
    } catch (error) {
      if (upload) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: upload.id })).catch(() => undefined);
      }
      throw error;
    }
  }

  private async startUpload(key: string): Promise<{ id: string; parts: CompletedPart[] }> {
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentTypeOf(key) }));
    if (!UploadId) throw new Error(`S3 gave no upload id for s3://${this.bucket}/${key}`);
    return { id: UploadId, parts: [] };
  }

  private async sendPart(key: string, upload: { id: string; parts: CompletedPart[] }, bytes: Buffer): Promise<void> {
    const PartNumber = upload.parts.length + 1;
    const { ETag } = await this.client.send(
      new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: upload.id, PartNumber, Body: bytes }),
    );
    upload.parts.push({ ETag, PartNumber });
  }
}

function contentTypeOf(key: string): string {
  if (key.endsWith('.csv')) return 'text/csv; charset=utf-8';
  return key.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}
