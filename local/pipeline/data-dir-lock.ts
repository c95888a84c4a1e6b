/**
 * One local run per data dir at a time: the stand-ins keep their stores there (LevelDB, the S3
 * stand-in's files) and would corrupt each other. A second run is refused with the holder's pid.
 * A folder that cannot be created or written is refused up front (InvalidInput), naming it.
 */
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidInputError } from '../../functions/core/errors';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUse';
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** Data dirs this process holds: its own pid in a lock is only live if it is one of these. */
const heldHere = new Set<string>();

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, '.lock');
  // Written whole under a private name, then linked into place: the lock never exists half-written,
  // and link() fails if another run's lock is already there.
  const mine = join(dataDir, `.lock.${process.pid}`);
  try {
    await makeFolder(dataDir);
    await writeFile(mine, `${process.pid}\n`);
  } catch (error) {
    throw new InvalidInputError('data-dir', `cannot use ${dataDir} as the data dir: ${(error as Error).message}`);
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(mine, path);
        heldHere.add(path);
        return {
          release: async () => {
            heldHere.delete(path);
            if ((await holderOf(path)) === process.pid) await rm(path, { force: true });
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = await holderOf(path);
        if (holder !== undefined && isLive(holder, path)) {
          throw new DataDirInUseError(`${dataDir} is in use by another local run (pid ${holder}); wait for it, or pass --data-dir to use another folder`);
        }
        // The holder died without releasing it (or its pid is now ours, after a restart): stale.
        if (holder !== undefined) await rm(path, { force: true });
      }
    }
    throw new DataDirInUseError(`could not lock ${dataDir}: ${path} is held and names no live run; delete it if no run is using the folder`);
  } finally {
    await rm(mine, { force: true });
  }
}

async function holderOf(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isLive(pid: number, path: string): boolean {
  if (pid === process.pid) return heldHere.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * mkdir -p that fails instead of hanging: fs.mkdir's recursive mode never settles for a folder
 * under /proc (ENOENT from a parent that exists), so each missing level is made on its own.
 */
async function makeFolder(folder: string): Promise<void> {
  const missing: string[] = [];
  for (let current = folder; ; current = dirname(current)) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (info) {
      if (!info.isDirectory()) throw new Error(`${current} is a file, not a folder`);
      break;
    }
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const level of missing) {
    await mkdir(level).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
