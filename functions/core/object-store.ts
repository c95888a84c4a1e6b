/**
 * The storage publishing needs, in plain terms. The domain talks to this interface only; the S3
 * implementation lives in functions/commons/clients/s3-object-store.ts and tests use an in-memory one.
 */

export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

export interface ObjectVersion {
  readonly size: number;
  /** Undefined when the store does not keep versions (an unversioned bucket). */
  readonly versionId: string | undefined;
}

export interface CopyOptions {
  /** Copy this version of the source instead of the current one (used to restore a previous file). */
  readonly sourceVersionId?: string;
  /** Content type of the new object; when absent the source's type and metadata are kept. */
  readonly contentType?: string;
}

export interface ObjectStore {
  /** Every object under `prefix`, all pages, sorted by key. */
  list(prefix: string): Promise<ListedObject[]>;
  /** The object's bytes as a stream, read once. */
  read(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Size and version of the current object, or undefined when there is none. */
  head(key: string): Promise<ObjectVersion | undefined>;
  /** Server-side copy; the target appears complete or not at all. Any size (multipart above the single-copy limit). */
  copy(sourceKey: string, targetKey: string, options?: CopyOptions): Promise<void>;
  put(key: string, body: string | Uint8Array, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  deleteMany(keys: readonly string[]): Promise<void>;
}

/** An object's bytes as UTF-8 text, for the small JSON objects publishing reads (manifests, counts). */
export async function readText(store: ObjectStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(key)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
