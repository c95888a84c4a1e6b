/**
 * The S3 REST API (path-style) over an S3Store: the operations the pipeline and the SDK calls in
 * this repository make, answered as S3 answers them (headers, XML, error codes). Anything else is
 * refused with NotImplemented, naming it, rather than half done.
 *
 * Objects: PutObject, GetObject and HeadObject (by version id, byte ranges), CopyObject (a version as
 * source, MetadataDirective COPY or REPLACE), DeleteObject (delete markers, by version id),
 * CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload.
 * Buckets: HeadBucket, ListObjectsV2, ListObjectVersions, GetBucketVersioning, DeleteObjects.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  bodyOf,
  checkBody,
  checkSignature,
  header,
  readSmallBody,
  xmlDocument,
  xmlElements,
  xmlUnescape,
  type S3Credentials,
  type XmlObject,
} from './s3-request';
import { noSuchKey, S3Error, type ObjectAttributes, type Blob, type ObjectVersion, type S3Store, type StoredBucket } from './s3-store';

/** The largest object one CopyObject (or UploadPartCopy without a range) may copy, as in S3. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
const MAX_LIST_KEYS = 1000;
const SYSTEM_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];

export interface S3ApiHooks {
  /** An error to refuse a write to bucket/key with (PutObject, the target of a copy, multipart uploads), or undefined. */
  refuseWrite(bucket: string, key: string): S3Error | undefined;
  /** Called when a write (put, copy, completed upload, delete) is stored, before it is answered. */
  written(bucket: string, key: string): void;
}

type Query = URLSearchParams;

export function s3RequestListener(store: S3Store, credentials: S3Credentials, hooks: S3ApiHooks): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    response.setHeader('x-amz-request-id', requestId);
    handle(store, credentials, hooks, request, response).catch((error: unknown) => {
      request.resume();
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const s3Error =
        error instanceof S3Error ? error : new S3Error('InternalError', 500, `S3 stand-in failed: ${error instanceof Error ? error.message : String(error)}`);
      response.writeHead(s3Error.status, { 'content-type': 'application/xml', ...s3Error.headers });
      if (request.method === 'HEAD') response.end();
      else response.end(xmlDocument('Error', { Code: s3Error.code, Message: s3Error.message, ...s3Error.extra, RequestId: requestId }, false));
    });
  };
}

async function handle(store: S3Store, credentials: S3Credentials, hooks: S3ApiHooks, request: IncomingMessage, response: ServerResponse): Promise<void> {
  checkSignature(request, credentials);
  // Not WHATWG URL parsing: it would resolve `.` and `..` segments, which are part of an S3 key.
  const target = request.url ?? '/';
  const at = target.indexOf('?');
  let path: string;
  try {
    path = decodeURIComponent(at < 0 ? target : target.slice(0, at));
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
  }
  const slash = path.indexOf('/', 1);
  const bucketName = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  if (!bucketName) throw notImplemented(request, 'ListBuckets');
  const bucket = store.bucket(bucketName);
  const query = new URLSearchParams(at < 0 ? '' : target.slice(at + 1));
  const api = new Api(store, bucket, hooks, request, response, query);
  if (key === '') return api.bucketOperation();
  return api.objectOperation(key);
}

const OBJECT_PARAMETERS = new Set(['x-id', 'versionId', 'uploadId', 'partNumber', 'uploads']);
const BUCKET_PARAMETERS = new Set([
  'x-id',
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
  'versions',
  'key-marker',
  'version-id-marker',
  'versioning',
  'delete',
]);

class Api {
  constructor(
    private readonly store: S3Store,
    private readonly bucket: StoredBucket,
    private readonly hooks: S3ApiHooks,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly query: Query,
  ) {}

  async bucketOperation(): Promise<void> {
    const { method } = this.request;
    const unknown = [...this.query.keys()].find((name) => !BUCKET_PARAMETERS.has(name));
    if (unknown) throw notImplemented(this.request, `?${unknown} on a bucket`);
    if (method === 'HEAD') return this.reply(200, {});
    if (method === 'GET' && this.query.has('versioning'))
      return this.reply(200, {}, xmlDocument('VersioningConfiguration', { Status: this.bucket.versioning }));
    if (method === 'GET' && this.query.has('versions')) return this.listObjectVersions();
    if (method === 'GET' && this.query.get('list-type') === '2') return this.listObjectsV2();
    if (method === 'POST' && this.query.has('delete')) return this.deleteObjects();
    throw notImplemented(this.request, method === 'GET' ? 'ListObjects (version 1)' : 'this bucket operation');
  }

  async objectOperation(key: string): Promise<void> {
    const { method } = this.request;
    const unknown = [...this.query.keys()].find((name) => !OBJECT_PARAMETERS.has(name) && !name.startsWith('response-'));
    if (unknown) throw notImplemented(this.request, `?${unknown} on an object`);
    const uploadId = this.query.get('uploadId') ?? undefined;
    const copySource = header(this.request.headers, 'x-amz-copy-source');
    switch (method) {
      case 'PUT':
        if (uploadId !== undefined) return this.uploadPart(key, uploadId, copySource);
        return copySource === undefined ? this.putObject(key) : this.copyObject(key, copySource);
      case 'GET':
      case 'HEAD':
        if (uploadId !== undefined) throw notImplemented(this.request, 'ListParts');
        return this.getObject(key);
      case 'DELETE':
        if (uploadId !== undefined) {
          await this.bucket.abortUpload(key, uploadId);
          return this.reply(204, {});
        }
        return this.deleteObject(key);
      case 'POST':
        if (this.query.has('uploads')) return this.createMultipartUpload(key);
        if (uploadId !== undefined) return this.completeMultipartUpload(key, uploadId);
    }
    throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', { Method: method ?? '', ResourceType: 'OBJECT' });
  }

  private async putObject(key: string): Promise<void> {
    this.refuseWrite(key);
    const blob = await this.ingestBody();
    const version = await this.bucket.put(key, blob, attributesOf(this.request.headers));
    this.hooks.written(this.bucket.name, key);
    this.reply(200, { etag: version.etag, ...this.versionHeader(version), ...checksumHeaders(this.request.headers, blob.checksums) });
  }

  private async getObject(key: string): Promise<void> {
    const versionId = this.query.get('versionId') ?? undefined;
    const { version, file } = await this.bucket.open(key, versionId);
    try {
      if (!file) throw this.deleteMarkerError(version, versionId !== undefined);
      const headers: Record<string, string> = {
        'content-type': version.contentType,
        'last-modified': new Date(version.lastModified).toUTCString(),
        etag: version.etag,
        'accept-ranges': 'bytes',
        ...this.versionHeader(version),
        ...version.headers,
        ...Object.fromEntries(Object.entries(version.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
        ...responseOverrides(this.query),
      };
      const range = byteRange(header(this.request.headers, 'range'), version.size);
      if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${version.size}`;
      headers['content-length'] = String(range ? range.end - range.start + 1 : version.size);
      this.response.writeHead(range ? 206 : 200, headers);
      if (this.request.method === 'HEAD' || version.size === 0) {
        this.response.end();
        return;
      }
      await pipeline(file.createReadStream({ autoClose: false, start: range?.start ?? 0, end: range?.end ?? version.size - 1 }), this.response);
    } finally {
      await file?.close();
    }
  }

  private async copyObject(key: string, copySource: string): Promise<void> {
    this.refuseWrite(key);
    const source = parseCopySource(copySource);
    const directive = header(this.request.headers, 'x-amz-metadata-directive') ?? 'COPY';
    if (directive !== 'COPY' && directive !== 'REPLACE') {
      throw new S3Error('InvalidArgument', 400, 'Unknown metadata directive.', { ArgumentName: 'x-amz-metadata-directive', ArgumentValue: directive });
    }
    const sourceBucket = this.store.bucket(source.bucket);
    if (sourceBucket === this.bucket && source.key === key && source.versionId === undefined && directive === 'COPY') {
      throw new S3Error(
        'InvalidRequest',
        400,
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    const { blob, version: from } = await this.copyFrom(sourceBucket, source);
    const attributes = directive === 'REPLACE' ? attributesOf(this.request.headers) : from;
    const version = await this.bucket.put(key, blob, { contentType: attributes.contentType, headers: attributes.headers, metadata: attributes.metadata });
    this.hooks.written(this.bucket.name, key);
    this.reply(
      200,
      { ...this.versionHeader(version), ...copySourceVersionHeader(sourceBucket, from) },
      xmlDocument('CopyObjectResult', { ETag: version.etag, LastModified: version.lastModified }),
    );
  }

  private async uploadPart(key: string, uploadId: string, copySource: string | undefined): Promise<void> {
    this.refuseWrite(key);
    const partNumber = Number(this.query.get('partNumber'));
    this.bucket.checkPart(key, uploadId, partNumber);
    if (copySource === undefined) {
      const part = await this.bucket.putPart(key, uploadId, partNumber, await this.ingestBody());
      return this.reply(200, { etag: part.etag });
    }
    const source = parseCopySource(copySource);
    const sourceBucket = this.store.bucket(source.bucket);
    const { blob, version: from } = await this.copyFrom(sourceBucket, source, header(this.request.headers, 'x-amz-copy-source-range'));
    const part = await this.bucket.putPart(key, uploadId, partNumber, blob);
    this.reply(200, copySourceVersionHeader(sourceBucket, from), xmlDocument('CopyPartResult', { ETag: part.etag, LastModified: new Date().toISOString() }));
  }

  private async createMultipartUpload(key: string): Promise<void> {
    this.refuseWrite(key);
    const uploadId = await this.bucket.createUpload(key, attributesOf(this.request.headers));
    this.reply(200, {}, xmlDocument('InitiateMultipartUploadResult', { Bucket: this.bucket.name, Key: key, UploadId: uploadId }));
  }

  private async completeMultipartUpload(key: string, uploadId: string): Promise<void> {
    this.refuseWrite(key);
    const xml = await readSmallBody(this.request);
    const parts = xmlElements(xml, 'Part').map((part) => ({
      partNumber: Number(xmlElements(part, 'PartNumber')[0]),
      etag: xmlUnescape(xmlElements(part, 'ETag')[0] ?? ''),
    }));
    const version = await this.bucket.completeUpload(key, uploadId, parts);
    this.hooks.written(this.bucket.name, key);
    this.reply(
      200,
      this.versionHeader(version),
      xmlDocument('CompleteMultipartUploadResult', {
        Location: `/${this.bucket.name}/${encodeURIComponent(key)}`,
        Bucket: this.bucket.name,
        Key: key,
        ETag: version.etag,
      }),
    );
  }

  private async deleteObject(key: string): Promise<void> {
    const result = await this.bucket.delete(key, this.query.get('versionId') ?? undefined);
    this.hooks.written(this.bucket.name, key);
    this.reply(204, {
      ...(result.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
      ...(result.versionId !== undefined ? { 'x-amz-version-id': result.versionId } : {}),
    });
  }

  private async deleteObjects(): Promise<void> {
    const xml = await readSmallBody(this.request);
    const quiet = xmlElements(xml, 'Quiet')[0]?.trim() === 'true';
    const objects = xmlElements(xml, 'Object').map((object) => ({
      key: xmlUnescape(xmlElements(object, 'Key')[0] ?? ''),
      versionId: xmlElements(object, 'VersionId').map(xmlUnescape)[0],
    }));
    if (objects.length === 0 || objects.length > MAX_LIST_KEYS) {
      throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    const deleted: XmlObject[] = [];
    const errors: XmlObject[] = [];
    for (const { key, versionId } of objects) {
      try {
        const result = await this.bucket.delete(key, versionId);
        this.hooks.written(this.bucket.name, key);
        if (!quiet) {
          deleted.push({
            Key: key,
            VersionId: versionId,
            DeleteMarker: result.deleteMarker || undefined,
            DeleteMarkerVersionId: result.deleteMarker && versionId === undefined ? result.versionId : undefined,
          });
        }
      } catch (error) {
        if (!(error instanceof S3Error)) throw error;
        errors.push({ Key: key, VersionId: versionId, Code: error.code, Message: error.message });
      }
    }
    this.reply(200, {}, xmlDocument('DeleteResult', { Deleted: deleted, Error: errors }));
  }

  private listObjectsV2(): void {
    const prefix = this.query.get('prefix') ?? '';
    const delimiter = this.query.get('delimiter') || undefined;
    const maxKeys = this.maxKeys();
    const encode = this.keyEncoder();
    const token = this.query.get('continuation-token') ?? undefined;
    const startAfter = this.query.get('start-after') || undefined;
    const after = token !== undefined ? decodeToken(token) : startAfter;
    const items = [];
    let truncated = false;
    for (const item of this.bucket.walk({ prefix, delimiter, after })) {
      if (items.length === maxKeys) {
        truncated = items.length > 0;
        break;
      }
      items.push(item);
    }
    const last = items.at(-1);
    const contents = items.flatMap((item) => ('key' in item ? [item.entry.versions[0]!] : []));
    this.reply(
      200,
      {},
      xmlDocument('ListBucketResult', {
        Name: this.bucket.name,
        Prefix: encode(prefix),
        Delimiter: delimiter === undefined ? undefined : encode(delimiter),
        MaxKeys: maxKeys,
        EncodingType: this.query.get('encoding-type') ?? undefined,
        KeyCount: items.length,
        IsTruncated: truncated,
        ContinuationToken: token,
        NextContinuationToken: truncated && last ? encodeToken('key' in last ? last.key : last.commonPrefix) : undefined,
        StartAfter: startAfter === undefined ? undefined : encode(startAfter),
        Contents: contents.map((v) => ({ Key: encode(v.key), LastModified: v.lastModified, ETag: v.etag, Size: v.size, StorageClass: 'STANDARD' })),
        CommonPrefixes: items.flatMap((item) => ('commonPrefix' in item ? [{ Prefix: encode(item.commonPrefix) }] : [])),
      }),
    );
  }

  private listObjectVersions(): void {
    const prefix = this.query.get('prefix') ?? '';
    const delimiter = this.query.get('delimiter') || undefined;
    const maxKeys = this.maxKeys();
    const encode = this.keyEncoder();
    const keyMarker = this.query.get('key-marker') || undefined;
    const versionIdMarker = this.query.get('version-id-marker') || undefined;
    type Listed = { version: ObjectVersion; isLatest: boolean } | { commonPrefix: string };
    const bucket = this.bucket;
    function* listed(): Generator<Listed> {
      if (keyMarker !== undefined && versionIdMarker !== undefined && keyMarker.startsWith(prefix)) {
        const all = bucket.versions(keyMarker);
        const at = all.findIndex((v) => v.versionId === versionIdMarker);
        if (at < 0)
          throw new S3Error('InvalidArgument', 400, 'Invalid version id specified', { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker });
        for (const version of all.slice(at + 1)) yield { version, isLatest: false };
      }
      for (const item of bucket.walk({ prefix, delimiter, after: keyMarker, allVersions: true })) {
        if ('commonPrefix' in item) yield item;
        else yield* item.entry.versions.map((version, index) => ({ version, isLatest: index === 0 }));
      }
    }
    const items: Listed[] = [];
    let truncated = false;
    for (const item of listed()) {
      if (items.length === maxKeys) {
        truncated = items.length > 0;
        break;
      }
      items.push(item);
    }
    const last = items.at(-1);
    const entry = ({ version: v, isLatest }: { version: ObjectVersion; isLatest: boolean }) => ({
      Key: encode(v.key),
      VersionId: v.versionId,
      IsLatest: isLatest,
      LastModified: v.lastModified,
      ...(v.deleteMarker ? {} : { ETag: v.etag, Size: v.size, StorageClass: 'STANDARD' }),
    });
    this.reply(
      200,
      {},
      xmlDocument('ListVersionsResult', {
        Name: this.bucket.name,
        Prefix: encode(prefix),
        KeyMarker: encode(keyMarker ?? ''),
        VersionIdMarker: versionIdMarker ?? '',
        NextKeyMarker: truncated && last ? encode('version' in last ? last.version.key : last.commonPrefix) : undefined,
        NextVersionIdMarker: truncated && last && 'version' in last ? last.version.versionId : undefined,
        MaxKeys: maxKeys,
        Delimiter: delimiter === undefined ? undefined : encode(delimiter),
        EncodingType: this.query.get('encoding-type') ?? undefined,
        IsTruncated: truncated,
        Version: items.flatMap((item) => ('version' in item && !item.version.deleteMarker ? [entry(item)] : [])),
        DeleteMarker: items.flatMap((item) => ('version' in item && item.version.deleteMarker ? [entry(item)] : [])),
        CommonPrefixes: items.flatMap((item) => ('commonPrefix' in item ? [{ Prefix: encode(item.commonPrefix) }] : [])),
      }),
    );
  }

  /** The bytes of a copy source (a range of them for UploadPartCopy), streamed into a blob. */
  private async copyFrom(sourceBucket: StoredBucket, source: CopySource, rangeHeader?: string): Promise<{ blob: Blob; version: ObjectVersion }> {
    const { version, file } = await sourceBucket.open(source.key, source.versionId);
    try {
      if (!file) {
        if (source.versionId !== undefined)
          throw new S3Error('InvalidRequest', 400, 'The source of a copy request may not specifically refer to a delete marker by version id.');
        throw noSuchKey(source.key);
      }
      let range: { start: number; end: number } | undefined;
      if (rangeHeader !== undefined) {
        const match = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader);
        range = match ? { start: Number(match[1]), end: Number(match[2]) } : undefined;
        if (!range || range.start > range.end || range.end >= version.size) {
          throw new S3Error('InvalidArgument', 400, `Range specified is not valid for source object of size: ${version.size}`, {
            ArgumentName: 'x-amz-copy-source-range',
            ArgumentValue: rangeHeader,
          });
        }
      }
      const size = range ? range.end - range.start + 1 : version.size;
      if (size > MAX_COPY_BYTES) {
        throw new S3Error('InvalidRequest', 400, `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`);
      }
      return { blob: await sourceBucket.copyData(file, range), version };
    } finally {
      await file?.close();
    }
  }

  /** GET/HEAD of a delete marker: 404 NoSuchKey when it is the current version, 405 when asked for by id. */
  private deleteMarkerError(marker: ObjectVersion, byVersionId: boolean): S3Error {
    const headers = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': marker.versionId, 'last-modified': new Date(marker.lastModified).toUTCString() };
    if (!byVersionId) return new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: marker.key }, headers);
    return new S3Error(
      'MethodNotAllowed',
      405,
      'The specified method is not allowed against this resource.',
      { Method: this.request.method ?? '', ResourceType: 'DeleteMarker' },
      headers,
    );
  }

  private async ingestBody(): Promise<Blob> {
    const trailers: Record<string, string> = {};
    const blob = await this.store.ingest(bodyOf(this.request, trailers));
    try {
      checkBody(this.request.headers, trailers, blob);
    } catch (error) {
      await this.store.discard(blob);
      throw error;
    }
    return blob;
  }

  private refuseWrite(key: string): void {
    const refusal = this.hooks.refuseWrite(this.bucket.name, key);
    if (refusal) throw refusal;
  }

  /** x-amz-version-id, which S3 sends once a bucket has (or had) versioning. */
  private versionHeader(version: ObjectVersion): Record<string, string> {
    return this.bucket.versioning ? { 'x-amz-version-id': version.versionId } : {};
  }

  private maxKeys(): number {
    const text = this.query.get('max-keys');
    if (text === null) return MAX_LIST_KEYS;
    if (!/^\d+$/.test(text))
      throw new S3Error('InvalidArgument', 400, 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: text });
    return Math.min(Number(text), MAX_LIST_KEYS);
  }

  private keyEncoder(): (text: string) => string {
    const encoding = this.query.get('encoding-type');
    if (encoding === null) return (text) => text;
    if (encoding !== 'url')
      throw new S3Error('InvalidArgument', 400, 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: encoding });
    return (text) => encodeURIComponent(text).replace(/%2F/g, '/');
  }

  private reply(status: number, headers: Record<string, string>, xml?: string): void {
    this.request.resume();
    this.response.writeHead(status, xml === undefined ? headers : { 'content-type': 'application/xml', ...headers });
    this.response.end(xml);
  }
}

interface CopySource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, the key URL-encoded. */
function parseCopySource(value: string): CopySource {
  const invalid = () =>
    new S3Error('InvalidArgument', 400, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: value,
    });
  const at = value.indexOf('?');
  const [rawPath, rawQuery] = at < 0 ? [value, ''] : [value.slice(0, at), value.slice(at + 1)];
  let path: string;
  try {
    path = decodeURIComponent(rawPath.replace(/^\//, ''));
  } catch {
    throw invalid();
  }
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw invalid();
  const versionId = new URLSearchParams(rawQuery).get('versionId') ?? undefined;
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1), versionId };
}

function copySourceVersionHeader(sourceBucket: StoredBucket, version: ObjectVersion): Record<string, string> {
  return sourceBucket.versioning ? { 'x-amz-copy-source-version-id': version.versionId } : {};
}

function attributesOf(headers: IncomingHttpHeaders): ObjectAttributes {
  const system: Record<string, string> = {};
  for (const name of SYSTEM_HEADERS) {
    let value = header(headers, name);
    // aws-chunked is how the body was sent, not how the object is encoded.
    if (name === 'content-encoding' && value !== undefined)
      value = value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v && v !== 'aws-chunked')
        .join(',');
    if (value) system[name] = value;
  }
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  return { contentType: header(headers, 'content-type') ?? 'binary/octet-stream', headers: system, metadata };
}

/** S3 answers a PutObject that carried a checksum with the checksum it stored. */
function checksumHeaders(headers: IncomingHttpHeaders, checksums: Readonly<Record<'crc32' | 'sha1' | 'sha256', string>>): Record<string, string> {
  const algorithm = header(headers, 'x-amz-sdk-checksum-algorithm')?.toLowerCase();
  return algorithm === 'crc32' || algorithm === 'sha1' || algorithm === 'sha256' ? { [`x-amz-checksum-${algorithm}`]: checksums[algorithm] } : {};
}

function responseOverrides(query: Query): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const name of ['content-type', 'content-language', 'expires', 'cache-control', 'content-disposition', 'content-encoding']) {
    const value = query.get(`response-${name}`);
    if (value !== null) overrides[name] = value;
  }
  return overrides;
}

/** The one range of a `Range: bytes=…` header, or undefined for the whole object; 416 when none of it exists. */
function byteRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // S3 ignores a range it cannot parse
  const [start, end] =
    match[1] === '' ? [Math.max(0, size - Number(match[2])), size - 1] : [Number(match[1]), match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)];
  if (start >= size || start > end) {
    throw new S3Error(
      'InvalidRange',
      416,
      'The requested range is not satisfiable',
      { ActualObjectSize: String(size), RangeRequested: value! },
      { 'content-range': `bytes */${size}` },
    );
  }
  return { start, end };
}

/** Continuation tokens are opaque to clients: the last key (or common prefix) listed. */
function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const { after } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof after === 'string') return after;
  } catch {
    // falls through
  }
  throw new S3Error('InvalidArgument', 400, 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
}

function notImplemented(request: IncomingMessage, what: string): S3Error {
  return new S3Error('NotImplemented', 501, `The S3 stand-in does not implement ${what} (${request.method} ${request.url})`);
}
