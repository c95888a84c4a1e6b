/**
 * The extract bucket as the consumer's SFTP user sees it on Transfer Family: its logical home maps
 * `/` to the bucket's `extracts/` prefix (resources/sftp.yml), S3 key prefixes show as folders, and
 * nothing above `extracts/` has a path. Only the keys of the extracts delivered by SFTP are there
 * (`readable`: their key prefixes, as the SFTP user's role allows on AWS); a folder shows when it
 * holds one of them. Each call reads the store as it is then, so a month published while the
 * server runs is seen by the next listing or open.
 */
import type { FileHandle } from 'node:fs/promises';
import { plainPathSegments, type ObjectVersion, type StoredBucketReader } from '../stand-ins/s3-store';

/** A path below the root, as its segments (`[]` is the root). */
export type TreePath = readonly string[];

/**
 * A client's path (absolute, or relative to `/`, where every session starts) resolved to its
 * segments; undefined when it climbs above the root (`..` from `/`), which no path may.
 */
export function resolveClientPath(path: string): TreePath | undefined {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') segments.push(segment);
    else if (segments.pop() === undefined) return undefined;
  }
  return segments;
}

export function formatTreePath(path: TreePath): string {
  return `/${path.join('/')}`;
}

export type TreeNode = { readonly kind: 'file'; readonly version: ObjectVersion } | { readonly kind: 'folder'; readonly modified: Date };

export interface TreeEntry {
  readonly name: string;
  readonly node: TreeNode;
}

export class PublishedTree {
  constructor(
    private readonly bucket: StoredBucketReader,
    /** The key prefix `/` maps to, ending in `/`. */
    private readonly prefix: string,
    /** The only keys served: those starting with one of these (core/extract-keys.ts sftpKeyPrefixes). */
    private readonly readable: readonly string[],
  ) {}

  private served(key: string): boolean {
    return this.readable.some((prefix) => key.startsWith(prefix));
  }

  /** The file or folder at `path`; undefined when there is none. The root is always a folder. */
  async stat(path: TreePath): Promise<TreeNode | undefined> {
    if (path.length > 0) {
      const key = this.key(path);
      const version = this.served(key) ? await this.bucket.current(key) : undefined;
      // A key that is also a prefix of others shows as the file, here and in listings.
      if (version) return { kind: 'file', version };
    }
    const entries = await this.list(path);
    if (!entries) return undefined;
    const newest = Math.max(0, ...entries.map((entry) => modifiedOf(entry.node).getTime()));
    return { kind: 'folder', modified: new Date(newest) };
  }

  /** The folder's entries, sorted by name; undefined when `path` is no folder (the root always is). */
  async list(path: TreePath): Promise<TreeEntry[] | undefined> {
    const prefix = path.length === 0 ? this.prefix : `${this.key(path)}/`;
    const files = new Map<string, ObjectVersion>();
    const folders = new Map<string, Date>();
    for (const version of await this.bucket.list(prefix)) {
      if (!this.served(version.key)) continue;
      const segments = plainPathSegments(version.key.slice(prefix.length));
      if (!segments) continue; // no path can name it
      const name = segments[0]!;
      const modified = new Date(version.lastModified);
      if (segments.length === 1) files.set(name, version);
      else if ((folders.get(name)?.getTime() ?? -1) < modified.getTime()) folders.set(name, modified);
    }
    if (path.length > 0 && files.size === 0 && folders.size === 0) return undefined;
    const entries: TreeEntry[] = [
      ...[...folders].filter(([name]) => !files.has(name)).map(([name, modified]): TreeEntry => ({ name, node: { kind: 'folder', modified } })),
      ...[...files].map(([name, version]): TreeEntry => ({ name, node: { kind: 'file', version } })),
    ];
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The file at `path` as it is now, its bytes open for reading; undefined when there is no such file. */
  async open(path: TreePath): Promise<{ version: ObjectVersion; file: FileHandle } | undefined> {
    return path.length === 0 || !this.served(this.key(path)) ? undefined : this.bucket.openCurrent(this.key(path));
  }

  private key(path: TreePath): string {
    return `${this.prefix}${path.join('/')}`;
  }
}

export function modifiedOf(node: TreeNode): Date {
  return node.kind === 'file' ? new Date(node.version.lastModified) : node.modified;
}
