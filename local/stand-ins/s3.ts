/**
 * The S3 stand-in: s3rver, storing the buckets under the data dir, behind a small proxy that can
 * refuse writes to the published prefix (`--simulate-failure publish`), the way a missing
 * permission or a bucket policy would on AWS. s3rver keeps objects in its own file layout, so
 * after each run the published keys are mirrored as plain files (`mirrorPrefix`).
 * The proxy also fixes one s3rver bug: it decodes `x-amz-copy-source` with decodeURI, which leaves
 * `%3D` encoded, so a copy of `month=2024-03/...` (correctly encoded by the SDK, as S3 requires)
 * would miss its source.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { writeFileAtomically } from '../atomic-file';
import type { LoopbackServer } from './loopback-server';

/** s3rver checks request signatures against this fixed key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3StandIn extends LoopbackServer {
  /** Refuse PUTs (and so copies and uploads) under `bucket/prefix` with AccessDenied until cleared. */
  denyWritesUnder(bucket: string, prefix: string | undefined): void;
  /**
   * Makes `folder/<key>` a plain copy of every object under `prefix`, and removes plain files whose
   * object is gone. Returns the keys mirrored.
   */
  mirrorPrefix(bucket: string, prefix: string, folder: string): Promise<string[]>;
}

export async function startS3StandIn(storeDir: string, buckets: readonly string[]): Promise<S3StandIn> {
  await mkdir(storeDir, { recursive: true });
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: storeDir,
    vhostBuckets: false,
    // The proxy rewrites x-amz-copy-source, which the SDK signed; there is nothing to authenticate on loopback.
    allowMismatchedSignatures: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const backend = await s3rver.run();
  let denied: { bucket: string; prefix: string } | undefined;

  const proxy = createServer((incoming, outgoing) => {
    let path: string;
    try {
      path = decodeURIComponent((incoming.url ?? '/').split('?')[0]!);
    } catch {
      incoming.resume();
      outgoing.writeHead(400, { 'content-type': 'application/xml' });
      outgoing.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidURI</Code><Message>Couldn\'t parse the specified URI.</Message></Error>');
      return;
    }
    if (denied && incoming.method === 'PUT' && path.startsWith(`/${denied.bucket}/${denied.prefix}`)) {
      incoming.resume();
      return accessDenied(outgoing, path);
    }
    relay(incoming, outgoing, backend);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${backend.port}`,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
  });

  return {
    url,
    denyWritesUnder(bucket, prefix) {
      denied = prefix === undefined ? undefined : { bucket, prefix };
    },
    mirrorPrefix: (bucket, prefix, folder) => mirrorPrefix(client, bucket, prefix, folder),
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
      await s3rver.close();
    },
  };
}

function relay(incoming: IncomingMessage, outgoing: ServerResponse, backend: AddressInfo): void {
  const headers = { ...incoming.headers };
  const copySource = headers['x-amz-copy-source'];
  if (typeof copySource === 'string') headers['x-amz-copy-source'] = forDecodeUri(copySource);
  const upstream = forward(
    { host: '127.0.0.1', port: backend.port, method: incoming.method, path: incoming.url, headers },
    (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(outgoing);
    },
  );
  upstream.on('error', (error) => {
    if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
    outgoing.end(`S3 stand-in unreachable: ${error.message}`);
  });
  incoming.pipe(upstream);
}

/** The copy source re-encoded so that s3rver's decodeURI yields the key itself. */
function forDecodeUri(copySource: string): string {
  const [path = '', query] = copySource.split('?', 2);
  let rewritten: string;
  try {
    rewritten = encodeURI(decodeURIComponent(path));
  } catch {
    return copySource; // not valid percent-encoding: let s3rver refuse it as S3 would
  }
  return query === undefined ? rewritten : `${rewritten}?${query}`;
}

function accessDenied(outgoing: ServerResponse, path: string): void {
  outgoing.writeHead(403, { 'content-type': 'application/xml' });
  outgoing.end(
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
      `<Message>Access Denied (--simulate-failure publish refuses writes to ${path})</Message></Error>`,
  );
}

async function mirrorPrefix(client: S3Client, bucket: string, prefix: string, folder: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (!object.Key || object.Key.endsWith('/')) continue;
      keys.push(object.Key);
      const target = join(folder, ...object.Key.split('/'));
      if (await sameSizeAndTag(target, object.Size, object.ETag)) continue;
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      await writeFileAtomically(target, Body as Readable);
    }
    token = page.NextContinuationToken;
  } while (token);
  const wanted = new Set(keys.map((key) => join(folder, ...key.split('/'))));
  await removeFilesNotIn(join(folder, ...prefix.split('/').filter(Boolean)), wanted);
  return keys;
}

/** A plain file is current when its size and MD5 match the object's (s3rver's ETag is the MD5). */
async function sameSizeAndTag(path: string, size: number | undefined, etag: string | undefined): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info || info.size !== size || !etag) return false;
  const md5 = createHash('md5');
  await pipeline(createReadStream(path), md5);
  return `"${md5.digest('hex')}"` === etag;
}

async function removeFilesNotIn(folder: string, wanted: ReadonlySet<string>): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (!wanted.has(path) && !relative(folder, path).startsWith(`..${sep}`)) await rm(path);
  }
}
