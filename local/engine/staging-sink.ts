/**
 * Where the local extract job writes its staging objects. The job only names keys relative to the
 * run's staging prefix; the sink decides where they land (a folder here, S3 in the local pipeline).
 */
import { join } from 'node:path';
import { writeFileAtomically } from '../atomic-file';

/**
 * An object's content: text (sent as UTF-8), or a stream of chunks, text or bytes (a file's
 * `createReadStream` is one), consumed chunk by chunk so no object is ever held whole in memory.
 */
export type StagingBody = string | AsyncIterable<string | Uint8Array>;

export interface StagingSink {
  /** Writes one object; resolves once it is complete. */
  putObject(relativeKey: string, body: StagingBody): Promise<void>;
}

/** Writes objects as files under `root`; each file appears complete or not at all (written aside, then renamed). */
export class FolderStagingSink implements StagingSink {
  constructor(readonly root: string) {}

  async putObject(relativeKey: string, body: StagingBody): Promise<void> {
    await writeFileAtomically(join(this.root, ...relativeKey.split('/')), body);
  }
}
