/**
 * The S3 stand-in: an S3 API of our own (`s3-api.ts`) over a versioned store in a folder of the data
 * dir (`s3-store.ts`), for the calls the pipeline and the SDK make, answered as S3 answers them
 * (docs/decisions.md says why not s3rver). A bucket opened `versioned` keeps every version as the
 * production extract bucket does, so publishing rolls back with version ids, not backup copies.
 *
 * Two hooks for failure tests: `denyWritesUnder` refuses writes to a prefix with AccessDenied, the way
 * a missing permission or a bucket policy would on AWS (`--simulate-failure publish`), and
 * `killAfterWrites` kills this very process (SIGKILL) once the Nth write under a prefix is stored,
 * before it is answered: a crash at the worst moment. Objects live in the store's own layout, so the
 * published keys are mirrored as plain files after each run (`mirrorPrefix`).
 */
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';
import { writeFileAtomically } from '../atomic-file';
import { fileDigest } from './file-digest';
import type { LoopbackServer } from './loopback-server';
import { s3RequestListener } from './s3-api';
import type { S3Credentials } from './s3-request';
import { plainPathSegments, S3Error, S3Store, type StoredBucket } from './s3-store';

/** The stand-in checks every request's signature (SigV4) against this key pair. */
export const S3_STAND_IN_CREDENTIALS: S3Credentials = { accessKeyId: 'LOCALS3STANDIN', secretAccessKey: 'local-s3-stand-in-secret' };

export interface S3BucketOptions {
  readonly name: string;
  /** Keep every version of every object (S3 versioning Enabled), as the production extract bucket does. */
  readonly versioned?: boolean;
}

export interface S3StandIn extends LoopbackServer {
  /**
   * Refuse writes under `bucket/prefix` (PutObject, the target of a CopyObject, multipart uploads)
   * with AccessDenied until cleared with `undefined`, as a policy denying s3:PutObject would.
   */
  denyWritesUnder(bucket: string, prefix: string | undefined): void;
  /**
   * Once the `writes`th write (put, copy, completed multipart upload, delete; each key of a
   * DeleteObjects) under `bucket/prefix` from now on is stored, kill this process with SIGKILL
   * before answering it. `undefined` disarms it.
   */
  killAfterWrites(bucket: string, prefix: string, writes: number | undefined): void;
  /**
   * Makes `folder/<key>` a plain copy of every current object under `prefix`, and removes plain files
   * whose object is gone. A plain file is kept only if its SHA-256 is the object's. Returns the keys.
   */
  mirrorPrefix(bucket: string, prefix: string, folder: string): Promise<string[]>;
}

/** Serves `buckets` from the store in `storeDir` (created if need be; a later start on it finds every object and version). */
export async function startS3StandIn(storeDir: string, buckets: readonly (string | S3BucketOptions)[]): Promise<S3StandIn> {
  const store = await S3Store.open(
    storeDir,
    buckets.map((bucket) => (typeof bucket === 'string' ? { name: bucket, versioned: false } : { name: bucket.name, versioned: bucket.versioned ?? false })),
  );
  let denied: { bucket: string; prefix: string } | undefined;
  let kill: { bucket: string; prefix: string; remaining: number } | undefined;

  const server = createServer(
    s3RequestListener(store, S3_STAND_IN_CREDENTIALS, {
      refuseWrite(bucket, key) {
        if (!denied || bucket !== denied.bucket || !key.startsWith(denied.prefix)) return undefined;
        return new S3Error('AccessDenied', 403, `Access Denied (writes to ${bucket}/${denied.prefix} are refused: --simulate-failure publish)`);
      },
      written(bucket, key) {
        if (!kill || bucket !== kill.bucket || !key.startsWith(kill.prefix)) return;
        kill.remaining -= 1;
        if (kill.remaining === 0) process.kill(process.pid, 'SIGKILL');
      },
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    denyWritesUnder(bucket, prefix) {
      denied = prefix === undefined ? undefined : { bucket, prefix };
    },
    killAfterWrites(bucket, prefix, writes) {
      if (writes !== undefined && (!Number.isInteger(writes) || writes < 1))
        throw new RangeError(`killAfterWrites needs a whole number of writes above 0, got ${writes}`);
      kill = writes === undefined ? undefined : { bucket, prefix, remaining: writes };
    },
    mirrorPrefix: (bucket, prefix, folder) => mirrorPrefix(store.bucket(bucket), prefix, folder),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function mirrorPrefix(bucket: StoredBucket, prefix: string, folder: string): Promise<string[]> {
  const keys: string[] = [];
  // A snapshot: the listing must not shift under the awaits below.
  for (const item of [...bucket.walk({ prefix })]) {
    if (!('key' in item)) continue;
    const segments = plainPathSegments(item.key);
    if (!segments) continue;
    keys.push(item.key);
    const target = join(folder, ...segments);
    const { version, file } = await bucket.open(item.key, undefined);
    try {
      if (!file || (await fileDigest(target))?.sha256 === version.sha256) continue;
      await writeFileAtomically(target, checkedCopy(file.createReadStream({ autoClose: false, start: 0 }), item.key, version.sha256));
    } finally {
      await file?.close();
    }
  }
  const wanted = new Set(keys.map((key) => join(folder, ...key.split('/'))));
  await removeFilesNotIn(join(folder, ...prefix.split('/').filter(Boolean)), wanted);
  return keys;
}

/** The bytes, failing before their end if they are not the ones the store recorded (so no wrong copy is renamed into place). */
async function* checkedCopy(bytes: AsyncIterable<Buffer>, key: string, sha256: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of bytes) {
    hash.update(chunk);
    yield chunk;
  }
  if (hash.digest('hex') !== sha256) throw new Error(`the S3 stand-in's bytes of ${key} do not match the SHA-256 it recorded: its store is damaged`);
}

async function removeFilesNotIn(folder: string, wanted: ReadonlySet<string>): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (!wanted.has(path) && !relative(folder, path).startsWith(`..${sep}`)) await rm(path);
  }
}
