/**
 * The S3 stand-in's storage: buckets of versioned objects in a folder, as S3 keeps them.
 *
 * - `<root>/buckets/<bucket>/bucket.json`: the bucket's versioning status.
 * - `<root>/buckets/<bucket>/keys/<hh>/<sha256(key)>.json`: one key, all its versions and delete
 *   markers, newest first (the key itself is inside: keys are any UTF-8 up to 1,024 bytes, file
 *   names are not).
 * - `<root>/buckets/<bucket>/data/<id>`: the bytes of one version, written once, never changed.
 * - `<root>/buckets/<bucket>/uploads/<upload id>/`: a multipart upload in progress and its parts.
 *
 * Bytes are streamed to `<root>/tmp/` while their MD5 and SHA-256 are computed, renamed into `data/`,
 * and only then does the key's JSON (written aside and renamed) point at them: a write is visible
 * whole or not at all, even if the process is killed. Only keys and version attributes are held in
 * memory; bytes never are. Data files nothing points at (a process killed between the two renames)
 * are removed at the next start.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { writeFileAtomically } from '../atomic-file';

const FORMAT = 'monthly-loan-extract/s3-stand-in/1';
/** S3 refuses parts below 5 MiB, but for the last one. */
export const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PARTS = 10_000;
const MAX_KEY_BYTES = 1024;

/** An S3 error: its code, HTTP status and message as S3 answers them. */
export class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Elements of the error's XML besides Code, Message and RequestId. */
    readonly extra: Readonly<Record<string, string>> = {},
    /** Headers of the error response (a delete marker's, say). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export const noSuchKey = (key: string) => new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: key });

/** What S3 keeps with an object besides its bytes. */
export interface ObjectAttributes {
  readonly contentType: string;
  /** cache-control, content-disposition, content-encoding, content-language, expires */
  readonly headers: Readonly<Record<string, string>>;
  /** x-amz-meta-*, names without the prefix, lower case */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ObjectVersion extends ObjectAttributes {
  readonly key: string;
  /** `null` for the version written while versioning was off or suspended, as in S3. */
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly lastModified: string;
  readonly size: number;
  /** With its quotes: `"<md5>"`, or `"<md5 of the parts' MD5s>-<parts>"` for a multipart upload. */
  readonly etag: string;
  /** Hex digests of the whole bytes (also for a multipart upload). */
  readonly md5: string;
  readonly sha256: string;
  /** The data file; absent for a delete marker. */
  readonly dataId?: string;
}

export type Versioning = 'Enabled' | 'Suspended' | undefined;

/** Bytes written to a temporary file, with their digests; committed by a put, or discarded. */
export interface Blob {
  readonly path: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  /** Base64 checksums S3 can be asked to verify (`x-amz-checksum-*`). */
  readonly checksums: Readonly<Record<'crc32' | 'sha1' | 'sha256', string>>;
}

export interface Part {
  readonly partNumber: number;
  readonly etag: string;
  readonly md5: string;
  readonly size: number;
}

export interface Upload {
  readonly uploadId: string;
  readonly key: string;
  readonly attributes: ObjectAttributes;
  readonly initiated: string;
  readonly parts: Map<number, Part>;
}

interface KeyEntry {
  readonly key: string;
  /** Newest first. */
  versions: ObjectVersion[];
}

/** A step of a listing: a key that has versions, or a common prefix (keys rolled up at a delimiter). */
export type ListingItem = { readonly key: string; readonly entry: KeyEntry } | { readonly commonPrefix: string };

export interface OpenedVersion {
  readonly version: ObjectVersion;
  /** The data file, open (later writes cannot take the bytes away while they are read); none for a delete marker. */
  readonly file?: FileHandle;
}

export class S3Store {
  private constructor(
    readonly root: string,
    private readonly buckets: ReadonlyMap<string, StoredBucket>,
  ) {}

  /** Opens (or creates) the store in `root`; each bucket versioned as configured. */
  static async open(root: string, buckets: readonly { name: string; versioned: boolean }[]): Promise<S3Store> {
    await mkdir(root, { recursive: true });
    if (!(await isStore(root))) {
      const entries = await readdir(root);
      if (entries.length > 0) {
        throw new Error(`${root} holds files that are not an S3 stand-in store (s3rver's, from before?): delete the folder, or use another data dir`);
      }
      await writeFile(storeMarker(root), `${JSON.stringify({ format: FORMAT })}\n`);
    }
    const tmp = join(root, 'tmp');
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    const opened = new Map<string, StoredBucket>();
    for (const { name, versioned } of buckets) {
      opened.set(name, await StoredBucket.open(name, bucketDir(root, name), tmp, versioned));
    }
    return new S3Store(root, opened);
  }

  bucket(name: string): StoredBucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  /** Streams `body` to a temporary file, computing what S3 checks and returns. */
  async ingest(body: AsyncIterable<Uint8Array> | Readable): Promise<Blob> {
    return ingest(join(this.root, 'tmp', randomUUID()), body);
  }

  async discard(blob: Blob): Promise<void> {
    await rm(blob.path, { force: true });
  }
}

export class StoredBucket {
  private readonly entries = new Map<string, KeyEntry>();
  /** Keys in S3's order (UTF-8 bytes), including keys whose newest version is a delete marker. */
  private readonly sorted: string[] = [];
  private readonly uploads = new Map<string, Upload>();
  private readonly locks = new Map<string, Promise<unknown>>();

  private constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly tmp: string,
    readonly versioning: Versioning,
  ) {}

  static async open(name: string, dir: string, tmp: string, versioned: boolean): Promise<StoredBucket> {
    if (!/^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..')) {
      throw new Error(`"${name}" is not a valid S3 bucket name`);
    }
    for (const folder of ['keys', 'data', 'uploads']) await mkdir(join(dir, folder), { recursive: true });
    const settings = join(dir, 'bucket.json');
    const before = await readFile(settings, 'utf8').then(
      (text) => (JSON.parse(text) as { versioning?: Versioning }).versioning,
      () => undefined,
    );
    // As in S3, a bucket that has had versioning can only suspend it, never go back to unversioned.
    const versioning: Versioning = versioned ? 'Enabled' : before ? 'Suspended' : undefined;
    await writeFileAtomically(settings, `${JSON.stringify({ versioning })}\n`);
    const bucket = new StoredBucket(name, dir, tmp, versioning);
    await bucket.load();
    return bucket;
  }

  private async load(): Promise<void> {
    const used = new Set<string>();
    for (const file of await readdir(join(this.dir, 'keys'), { recursive: true, withFileTypes: true })) {
      if (file.isFile() && file.name.endsWith('.partial')) await rm(join(file.parentPath, file.name)); // killed while writing it
      if (!file.isFile() || !file.name.endsWith('.json')) continue;
      const entry = (await readKeyEntry(join(file.parentPath, file.name)))!;
      this.entries.set(entry.key, entry);
      this.sorted.push(entry.key);
      for (const version of entry.versions) if (version.dataId) used.add(version.dataId);
    }
    this.sorted.sort(compareKeys);
    for (const id of await readdir(join(this.dir, 'data'))) {
      if (!used.has(id)) await rm(dataPath(this.dir, id), { force: true });
    }
    for (const uploadId of await readdir(join(this.dir, 'uploads'))) {
      const folder = join(this.dir, 'uploads', uploadId);
      const upload = await readFile(join(folder, 'upload.json'), 'utf8').then(
        (text) => JSON.parse(text) as Omit<Upload, 'parts'>,
        () => undefined,
      );
      if (!upload) {
        await rm(folder, { recursive: true, force: true }); // killed while being created
        continue;
      }
      const parts = new Map<number, Part>();
      for (const name of await readdir(folder)) {
        if (!/^\d+\.json$/.test(name)) continue;
        const part = JSON.parse(await readFile(join(folder, name), 'utf8')) as Part;
        parts.set(part.partNumber, part);
      }
      this.uploads.set(uploadId, { ...upload, parts });
    }
  }

  /** The key's versions and delete markers, newest first. */
  versions(key: string): readonly ObjectVersion[] {
    return this.entries.get(key)?.versions ?? [];
  }

  /**
   * The version asked for (the current one without `versionId`), with its data file open.
   * Throws NoSuchKey / NoSuchVersion; a delete marker is returned for the caller to answer as S3 does.
   */
  async open(key: string, versionId: string | undefined): Promise<OpenedVersion> {
    return this.locked(key, async () => {
      const versions = this.entries.get(key)?.versions ?? [];
      const version = versionId === undefined ? versions[0] : versions.find((v) => v.versionId === versionId);
      if (!version) {
        if (versionId === undefined) throw noSuchKey(key);
        throw new S3Error('NoSuchVersion', 404, 'The specified version does not exist.', { Key: key, VersionId: versionId });
      }
      if (!version.dataId) return { version };
      return { version, file: await open(dataPath(this.dir, version.dataId), 'r') };
    });
  }

  /** Makes `blob` the key's new current version (replacing the `null` version when not versioning). */
  async put(key: string, blob: Blob, attributes: ObjectAttributes, etag = `"${blob.md5}"`): Promise<ObjectVersion> {
    const dataId = randomUUID();
    try {
      checkKey(key);
      await rename(blob.path, dataPath(this.dir, dataId));
    } catch (error) {
      await rm(blob.path, { force: true });
      throw error;
    }
    const version: ObjectVersion = {
      key,
      versionId: this.versioning === 'Enabled' ? newVersionId() : 'null',
      deleteMarker: false,
      lastModified: new Date().toISOString(),
      size: blob.size,
      etag,
      md5: blob.md5,
      sha256: blob.sha256,
      dataId,
      ...attributes,
    };
    try {
      await this.locked(key, () => this.addVersion(version));
    } catch (error) {
      await rm(dataPath(this.dir, dataId), { force: true });
      throw error;
    }
    return version;
  }

  /** A server-side copy of an opened version's bytes (or a range of them) into a new blob, for a put. */
  async copyData(file: FileHandle, range?: { start: number; end: number }): Promise<Blob> {
    return ingest(join(this.tmp, randomUUID()), file.createReadStream({ autoClose: false, start: range?.start ?? 0, end: range?.end }));
  }

  /**
   * DeleteObject. Without a version id: removes the object when the bucket never had versioning,
   * else adds a delete marker (replacing the `null` version when suspended). With one: removes that
   * version for good. Deleting what does not exist succeeds, as in S3.
   */
  async delete(key: string, versionId: string | undefined): Promise<{ versionId?: string; deleteMarker: boolean }> {
    return this.locked(key, async () => {
      const entry = this.entries.get(key);
      if (versionId !== undefined) {
        const removed = entry?.versions.find((v) => v.versionId === versionId);
        if (entry && removed)
          await this.replaceVersions(
            entry,
            entry.versions.filter((v) => v !== removed),
            [removed],
          );
        return { versionId, deleteMarker: removed?.deleteMarker ?? false };
      }
      if (!this.versioning) {
        if (entry) await this.replaceVersions(entry, [], entry.versions);
        return { deleteMarker: false };
      }
      const marker: ObjectVersion = {
        key,
        versionId: this.versioning === 'Enabled' ? newVersionId() : 'null',
        deleteMarker: true,
        lastModified: new Date().toISOString(),
        size: 0,
        etag: '',
        md5: '',
        sha256: '',
        contentType: '',
        headers: {},
        metadata: {},
      };
      await this.addVersion(marker);
      return { versionId: marker.versionId, deleteMarker: true };
    });
  }

  /**
   * Keys in order, under `prefix` and after `after`, that have a current object (or, with
   * `allVersions`, any version), rolled up at `delimiter` into common prefixes as S3 does. A common
   * prefix not after `after` is not repeated: a listing resumed after one skips the keys it holds.
   */
  *walk(options: { prefix: string; delimiter?: string; after?: string; allVersions?: boolean }): Generator<ListingItem> {
    const { prefix, delimiter, after } = options;
    const isAfter = (value: string) => after === undefined || compareKeys(value, after) > 0;
    let rolledUp: string | undefined;
    for (let index = lowerBound(this.sorted, after !== undefined && compareKeys(after, prefix) > 0 ? after : prefix); index < this.sorted.length; index++) {
      const key = this.sorted[index]!;
      if (!key.startsWith(prefix)) break;
      const entry = this.entries.get(key)!;
      if (!isAfter(key) || (!options.allVersions && !currentVersion(entry))) continue;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (cut < 0) {
        yield { key, entry };
        continue;
      }
      const commonPrefix = key.slice(0, cut + delimiter!.length);
      if (commonPrefix === rolledUp || !isAfter(commonPrefix)) continue;
      rolledUp = commonPrefix;
      yield { commonPrefix };
    }
  }

  async createUpload(key: string, attributes: ObjectAttributes): Promise<string> {
    checkKey(key);
    const uploadId = randomBytes(24).toString('base64url');
    const upload: Upload = { uploadId, key, attributes, initiated: new Date().toISOString(), parts: new Map() };
    const folder = this.uploadFolder(uploadId);
    await mkdir(folder);
    await writeFileAtomically(join(folder, 'upload.json'), JSON.stringify({ ...upload, parts: undefined }));
    this.uploads.set(uploadId, upload);
    return uploadId;
  }

  /** UploadPart / UploadPartCopy: the blob becomes part `partNumber` (a part sent again replaces it). */
  async putPart(key: string, uploadId: string, partNumber: number, blob: Blob): Promise<Part> {
    const part: Part = { partNumber, etag: `"${blob.md5}"`, md5: blob.md5, size: blob.size };
    try {
      const upload = this.checkPart(key, uploadId, partNumber);
      const folder = this.uploadFolder(uploadId);
      await rename(blob.path, join(folder, `${partNumber}.part`));
      await writeFileAtomically(join(folder, `${partNumber}.json`), JSON.stringify(part));
      upload.parts.set(partNumber, part);
      return part;
    } finally {
      await rm(blob.path, { force: true });
    }
  }

  /** The upload a part is for; throws NoSuchUpload, or InvalidArgument for a part number S3 refuses. */
  checkPart(key: string, uploadId: string, partNumber: number): Upload {
    const upload = this.upload(key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
      throw new S3Error('InvalidArgument', 400, `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`, { ArgumentName: 'partNumber' });
    }
    return upload;
  }

  /** CompleteMultipartUpload: the parts named, in order, joined into the key's new version. */
  async completeUpload(key: string, uploadId: string, chosen: readonly { partNumber: number; etag: string }[]): Promise<ObjectVersion> {
    const upload = this.upload(key, uploadId);
    if (chosen.length === 0)
      throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
    const parts: Part[] = [];
    for (const [index, { partNumber, etag }] of chosen.entries()) {
      if (index > 0 && partNumber <= chosen[index - 1]!.partNumber) {
        throw new S3Error('InvalidPartOrder', 400, 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      }
      const part = upload.parts.get(partNumber);
      if (!part || unquote(part.etag) !== unquote(etag)) {
        throw new S3Error(
          'InvalidPart',
          400,
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
          { PartNumber: String(partNumber), ETag: etag },
        );
      }
      if (index < chosen.length - 1 && part.size < MIN_PART_BYTES) {
        throw new S3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed object size.', {
          PartNumber: String(partNumber),
          ProposedSize: String(part.size),
          MinSizeAllowed: String(MIN_PART_BYTES),
        });
      }
      parts.push(part);
    }
    this.uploads.delete(uploadId); // a second Complete of the same upload now finds none
    const folder = this.uploadFolder(uploadId);
    try {
      const joined = await ingest(join(this.tmp, randomUUID()), joinFiles(parts.map((p) => join(folder, `${p.partNumber}.part`))));
      const etag = createHash('md5');
      for (const part of parts) etag.update(Buffer.from(part.md5, 'hex'));
      const version = await this.put(key, joined, upload.attributes, `"${etag.digest('hex')}-${parts.length}"`);
      await rm(folder, { recursive: true, force: true });
      return version;
    } catch (error) {
      this.uploads.set(uploadId, upload);
      throw error;
    }
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    this.upload(key, uploadId);
    this.uploads.delete(uploadId);
    await rm(this.uploadFolder(uploadId), { recursive: true, force: true });
  }

  private upload(key: string, uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.key !== key) {
      throw new S3Error(
        'NoSuchUpload',
        404,
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: uploadId },
      );
    }
    return upload;
  }

  private uploadFolder(uploadId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(uploadId)) throw new S3Error('NoSuchUpload', 404, 'The specified upload does not exist.', { UploadId: uploadId });
    return join(this.dir, 'uploads', uploadId);
  }

  /** Called with the key's lock held. */
  private async addVersion(version: ObjectVersion): Promise<void> {
    const entry = this.entries.get(version.key) ?? { key: version.key, versions: [] };
    // Without versioning (or suspended) the new version takes the place of the `null` one.
    const replaced = version.versionId === 'null' ? entry.versions.filter((v) => v.versionId === 'null') : [];
    await this.replaceVersions(entry, [version, ...entry.versions.filter((v) => !replaced.includes(v))], replaced);
  }

  /** Writes the key's versions, then forgets (and removes the bytes of) those `removed`. */
  private async replaceVersions(entry: KeyEntry, versions: ObjectVersion[], removed: readonly ObjectVersion[]): Promise<void> {
    const path = this.entryPath(entry.key);
    if (versions.length > 0) await writeFileAtomically(path, JSON.stringify({ key: entry.key, versions }));
    else await rm(path, { force: true });
    if (!this.entries.has(entry.key) && versions.length > 0) {
      this.entries.set(entry.key, entry);
      this.sorted.splice(lowerBound(this.sorted, entry.key), 0, entry.key);
    } else if (versions.length === 0 && this.entries.delete(entry.key)) {
      this.sorted.splice(lowerBound(this.sorted, entry.key), 1);
    }
    entry.versions = versions;
    for (const version of removed) {
      if (version.dataId) await rm(dataPath(this.dir, version.dataId), { force: true });
    }
  }

  private entryPath(key: string): string {
    return keyEntryPath(this.dir, key);
  }

  /** Runs `action` once the key's earlier operations are done: one key's versions change in order. */
  private async locked<T>(key: string, action: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const result = before.then(action, action);
    const settled = result.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return result;
  }
}

/**
 * A read-only look at one bucket of a store that another process (a running `npm start`) may be
 * writing: each call reads the store's files as they are at that moment, and nothing is changed
 * (opening an S3Store tidies the store, which only the process serving it may do). A key's file is
 * replaced by a rename, so a read sees its versions as before or after a write, never half of one.
 */
export class StoredBucketReader {
  /** Key files already read, by path, with the inode, mtime and size they had: a listing re-reads only what changed. */
  private readonly read = new Map<string, { stamp: string; entry: KeyEntry }>();

  private constructor(private readonly dir: string) {}

  /** The bucket of the store in `root`; undefined when there is no such store or bucket (nothing was ever written). */
  static async open(root: string, name: string): Promise<StoredBucketReader | undefined> {
    if (!(await isStore(root))) return undefined;
    const dir = bucketDir(root, name);
    const keys = await stat(join(dir, 'keys')).catch(() => undefined);
    return keys?.isDirectory() ? new StoredBucketReader(dir) : undefined;
  }

  /** The key's current version; undefined when the key has none (never written, or its newest version is a delete marker). */
  async current(key: string): Promise<ObjectVersion | undefined> {
    return currentVersion(await readKeyEntry(keyEntryPath(this.dir, key)));
  }

  /** The key's current version with its bytes open (they stay readable even if the version is removed later). */
  async openCurrent(key: string): Promise<Required<OpenedVersion> | undefined> {
    // A version removed for good between reading the key and opening its bytes (a publish rolled
    // back) is no longer current: read the key again.
    for (let attempt = 1; ; attempt++) {
      const version = await this.current(key);
      if (!version?.dataId) return undefined;
      const file = await open(dataPath(this.dir, version.dataId), 'r').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' && attempt < 3) return undefined;
        throw error;
      });
      if (file) return { version, file };
    }
  }

  /** The current version of every key under `prefix` that has one, in S3's key order. */
  async list(prefix: string): Promise<ObjectVersion[]> {
    const seen = new Set<string>();
    const versions: ObjectVersion[] = [];
    for (const file of await readdir(join(this.dir, 'keys'), { recursive: true, withFileTypes: true })) {
      if (!file.isFile() || !file.name.endsWith('.json')) continue;
      const path = join(file.parentPath, file.name);
      const info = await stat(path).catch(() => undefined);
      if (!info) continue; // replaced or removed since the folder was read
      seen.add(path);
      const stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
      let known = this.read.get(path);
      if (known?.stamp !== stamp) {
        const entry = await readKeyEntry(path);
        if (!entry) continue;
        known = { stamp, entry };
        this.read.set(path, known);
      }
      const version = known.entry.key.startsWith(prefix) ? currentVersion(known.entry) : undefined;
      if (version) versions.push(version);
    }
    for (const path of this.read.keys()) if (!seen.has(path)) this.read.delete(path);
    return versions.sort((a, b) => compareKeys(a.key, b.key));
  }
}

/** The store's layout, one definition for the store and its readers. */
function storeMarker(root: string): string {
  return join(root, 'store.json');
}

/** Whether `root` holds a store this version reads; throws for a store of another format. */
async function isStore(root: string): Promise<boolean> {
  const format = await readFile(storeMarker(root), 'utf8').then(
    (text) => (JSON.parse(text) as { format?: string }).format,
    () => undefined,
  );
  if (format !== undefined && format !== FORMAT) throw new Error(`${root} is an S3 stand-in store of format ${format}; this version reads ${FORMAT}`);
  return format !== undefined;
}

function bucketDir(root: string, name: string): string {
  return join(root, 'buckets', name);
}

function keyEntryPath(bucket: string, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex');
  return join(bucket, 'keys', hash.slice(0, 2), `${hash}.json`);
}

function dataPath(bucket: string, dataId: string): string {
  return join(bucket, 'data', dataId);
}

/** A key's file; undefined when it is not there (removed when its last version went). */
async function readKeyEntry(path: string): Promise<KeyEntry | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return text === undefined ? undefined : (JSON.parse(text) as KeyEntry);
}

/** The object a GET without a version id returns: the newest version, unless that is a delete marker. */
function currentVersion(entry: KeyEntry | undefined): ObjectVersion | undefined {
  const newest = entry?.versions[0];
  return newest && !newest.deleteMarker ? newest : undefined;
}

/**
 * The key's segments as a plain path below a folder, or undefined when it has none: a folder
 * marker (`a/`), or a key with an empty, `.` or `..` segment, which no file path can hold.
 */
export function plainPathSegments(key: string): string[] | undefined {
  const segments = key.split('/');
  return segments.some((segment) => segment === '' || segment === '.' || segment === '..') ? undefined : segments;
}

async function ingest(path: string, body: AsyncIterable<Uint8Array> | Readable): Promise<Blob> {
  const digests = new Digests();
  try {
    await pipeline(
      body,
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          digests.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path, { flags: 'wx' }),
    );
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return { path, ...digests.result() };
}

/** The digests S3 computes (MD5, SHA-256) or can be asked to check (CRC32, SHA-1, SHA-256), in one pass. */
export class Digests {
  private readonly md5 = createHash('md5');
  private readonly sha256 = createHash('sha256');
  private readonly sha1 = createHash('sha1');
  private crc = 0;
  private size = 0;

  update(chunk: Uint8Array): void {
    this.md5.update(chunk);
    this.sha256.update(chunk);
    this.sha1.update(chunk);
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
  }

  result(): Omit<Blob, 'path'> {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(this.crc >>> 0);
    const sha256 = this.sha256.digest();
    return {
      size: this.size,
      md5: this.md5.digest('hex'),
      sha256: sha256.toString('hex'),
      checksums: { crc32: crc.toString('base64'), sha1: this.sha1.digest('base64'), sha256: sha256.toString('base64') },
    };
  }
}

async function* joinFiles(paths: readonly string[]): AsyncGenerator<Uint8Array> {
  for (const path of paths) yield* createReadStream(path);
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', 400, 'Your key is too long');
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/** S3 version ids are opaque, URL-safe strings. */
function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * S3 lists keys in the order of their UTF-8 bytes, which is code point order. JavaScript compares
 * UTF-16 code units, which differs for characters past U+FFFF (surrogates) against U+E000–U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/** The first index whose key is not before `key`. */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareKeys(sorted[middle]!, key) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
