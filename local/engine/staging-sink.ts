/**
 * Where the local extract job writes its staging objects. The job only names keys relative to the
 * run's staging prefix; the sink decides where they land (a folder here, S3 in the local pipeline).
 */
import { join } from 'node:path';
import { writeFileAtomically } from '../atomic-file';

export interface StagingSink {
  /** Writes one object; resolves once it is complete. */
  putObject(relativeKey: string, body: AsyncIterable<string> | string): Promise<void>;
}

/** Writes objects as files under `root`; each file appears complete or not at all (written aside, then renamed). */
export class FolderStagingSink implements StagingSink {
  constructor(readonly root: string) {}

  async putObject(relativeKey: string, body: AsyncIterable<string> | string): Promise<void> {
    await writeFileAtomically(join(this.root, ...relativeKey.split('/')), body);
  }
}
