import type { CopyOptions, ListedObject, ObjectStore, ObjectVersion } from '../../functions/core/object-store';

/** An in-memory bucket: versioned like the extract bucket (or not), with a log of every write and injectable failures. */
export class MemoryStore implements ObjectStore {
  private readonly versions = new Map<string, Array<{ versionId: string; body: Buffer | null }>>();
  private nextVersion = 1;
  /** Mutating calls in order: `copy <src> -> <dst>`, `put <key>`, `delete <key>`, `deleteMany <keys>`. */
  readonly writes: string[] = [];
  failWhen: (operation: string, key: string) => boolean = () => false;
  /** A crash: the matching write never happens and never answers, as when the process dies there. */
  haltWhen: (operation: string, key: string) => boolean = () => false;
  private haltSeen: () => void = () => undefined;
  /** Resolves when a write is halted (the "crash" has happened). */
  readonly halted = (): Promise<void> => new Promise((resolve) => (this.haltSeen = resolve));

  constructor(
    private readonly versioned = true,
    private readonly chunkSize = 7,
  ) {}

  seed(key: string, body: string | Buffer): void {
    this.store(key, Buffer.from(body));
  }

  text(key: string): string | undefined {
    return this.current(key)?.body?.toString('utf8');
  }

  versionCount(key: string): number {
    return this.versions.get(key)?.length ?? 0;
  }

  keys(prefix = ''): string[] {
    return [...this.versions.keys()].filter((k) => k.startsWith(prefix) && this.current(k)).sort();
  }

  async list(prefix: string): Promise<ListedObject[]> {
    return this.keys(prefix).map((key) => ({ key, size: this.current(key)!.body!.length }));
  }

  async read(key: string): Promise<AsyncIterable<Uint8Array>> {
    const body = this.current(key)?.body;
    if (!body) throw new Error(`NoSuchKey ${key}`);
    const size = this.chunkSize;
    // Small chunks, so records, quoted fields and UTF-8 characters straddle chunk boundaries.
    return (async function* () {
      for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
    })();
  }

  async head(key: string): Promise<ObjectVersion | undefined> {
    const version = this.current(key);
    return version && { size: version.body!.length, versionId: this.versioned ? version.versionId : undefined };
  }

  async copy(sourceKey: string, targetKey: string, options: CopyOptions = {}): Promise<void> {
    if (this.haltWhen('copy', targetKey)) return this.halt();
    this.writes.push(`copy ${sourceKey} -> ${targetKey}`);
    if (this.failWhen('copy', targetKey)) throw new Error(`copy to ${targetKey} failed`);
    const source = options.sourceVersionId
      ? this.versions.get(sourceKey)?.find((v) => v.versionId === options.sourceVersionId)
      : this.current(sourceKey);
    if (!source?.body) throw new Error(`NoSuchKey ${sourceKey}`);
    this.store(targetKey, source.body);
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    if (this.haltWhen('put', key)) return this.halt();
    this.writes.push(`put ${key}`);
    if (this.failWhen('put', key)) throw new Error(`put ${key} failed`);
    this.store(key, Buffer.from(body));
  }

  async delete(key: string): Promise<void> {
    this.writes.push(`delete ${key}`);
    if (this.failWhen('delete', key)) throw new Error(`delete ${key} failed`);
    this.store(key, null);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    this.writes.push(`deleteMany ${keys.join(' ')}`);
    if (keys.some((k) => this.failWhen('deleteMany', k))) throw new Error('deleteMany failed');
    for (const key of keys) this.store(key, null);
  }

  private halt(): Promise<never> {
    this.haltSeen();
    return new Promise<never>(() => undefined);
  }

  private current(key: string) {
    const version = this.versions.get(key)?.at(-1);
    return version?.body ? version : undefined;
  }

  private store(key: string, body: Buffer | null): void {
    const entry = { versionId: `v${this.nextVersion++}`, body };
    this.versions.set(key, this.versioned ? [...(this.versions.get(key) ?? []), entry] : [entry]);
  }
}

