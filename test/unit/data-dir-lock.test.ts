/**
 * One local run per data dir: a second is refused naming the first; a dead run's lock is taken over;
 * a folder that cannot be made or written is refused at once, naming it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir } from '../../local/pipeline/data-dir-lock';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that has just exited, so no process holds it. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('lockDataDir', () => {
  it('refuses a second run while the first holds the folder, naming its pid, and frees it on release', async () => {
    const first = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toMatchObject({ name: 'DataDirInUse', message: expect.stringContaining(`(pid ${process.pid})`) });
    await first.release();
    await (await lockDataDir(dir)).release();
  });

  it('lets exactly one of several runs starting at the same moment take it', async () => {
    const attempts = await Promise.allSettled([1, 2, 3, 4, 5].map(() => lockDataDir(dir)));
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    await (attempts.find((a) => a.status === 'fulfilled') as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it("takes over the lock of a run that died, and of a pid now this process's own (a restarted container)", async () => {
    await writeFile(join(dir, '.lock'), `${deadPid()}\n`);
    const afterDead = await lockDataDir(dir);
    expect(await readFile(join(dir, '.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await afterDead.release();
    await writeFile(join(dir, '.lock'), `${process.pid}\n`);
    await (await lockDataDir(dir)).release();
  });

  it("does not remove a lock another run took after this one's was taken over", async () => {
    const mine = await lockDataDir(dir);
    await writeFile(join(dir, '.lock'), '1\n'); // pid 1: always alive
    await mine.release();
    expect(await readFile(join(dir, '.lock'), 'utf8')).toBe('1\n');
  });

  it('makes the folder and its missing parents', async () => {
    const nested = join(dir, 'a', 'b', 'c');
    const lock = await lockDataDir(nested);
    expect((await stat(nested)).isDirectory()).toBe(true);
    await lock.release();
  });

  it('refuses a folder it cannot make (under a file) as bad input, naming it', async () => {
    await writeFile(join(dir, 'file'), '');
    await expect(lockDataDir(join(dir, 'file', 'data'))).rejects.toMatchObject({
      name: 'InvalidInput',
      message: `data-dir: cannot use ${join(dir, 'file', 'data')} as the data dir: ${join(dir, 'file')} is a file, not a folder`,
    });
  });

  (existsSync('/proc/self') ? it : it.skip)('fails at once under /proc, where mkdir -p never returns', async () => {
    await expect(lockDataDir('/proc/loan-extract/data')).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(/^data-dir: cannot use \/proc\/loan-extract\/data as the data dir: ENOENT/),
    });
  });
});
