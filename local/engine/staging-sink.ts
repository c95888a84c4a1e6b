/**
 * Where the local extract job writes its staging objects. The job only names keys relative to the
 * run's staging prefix; the sink decides where they land (a folder here, S3 in the local pipeline).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

export interface StagingSink {
  /** Writes one object; resolves once it is complete. */
  putObject(relativeKey: string, body: AsyncIterable<string> | string): Promise<void>;
}

/** Writes objects as files under `root`; each file appears complete or not at all (written aside, then renamed). */
export class FolderStagingSink implements StagingSink {
  constructor(readonly root: string) {}

  async putObject(relativeKey: string, body: AsyncIterable<string> | string): Promise<void> {
    const target = join(this.root, ...relativeKey.split('/'));
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.partial`;
    await pipeline(typeof body === 'string' ? Readable.from([body]) : Readable.from(body), createWriteStream(partial));
    await rename(partial, target);
  }
}
