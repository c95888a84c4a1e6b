/**
 * The real client programs a test drives (Debian's OpenSSH sftp, psql). Without one the test cannot
 * show anything: elsewhere it is skipped, saying what to install; under CI=true (.ci/run installs
 * them) it fails instead, so a broken install cannot pass as skipped tests.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ClientPrograms {
  /** Why the tests cannot run here (`sftp is not on PATH (Debian: openssh-client)`), or undefined when all are there. */
  readonly missing: string | undefined;
  /** `describe`, or `describe.skip` when a program is missing outside CI. */
  readonly describe: jest.Describe;
  /** For a beforeAll: throws when a program is missing (only reached under CI, where nothing may skip). */
  require(): void;
}

/** `programs`: each program's name and the Debian package that has it. */
export function clientPrograms(programs: Readonly<Record<string, string>>): ClientPrograms {
  const absent = Object.entries(programs).filter(([name]) => !onPath(name));
  const missing = absent.length === 0 ? undefined : absent.map(([name, pkg]) => `${name} is not on PATH (Debian: apt-get install ${pkg})`).join('; ');
  const inCi = process.env.CI === 'true';
  if (missing && !inCi) console.warn(`skipping the tests with real clients: ${missing}`);
  return {
    missing,
    describe: missing && !inCi ? describe.skip : describe,
    require() {
      if (missing) throw new Error(`${missing}; .ci/run installs it, and CI=true requires it`);
    },
  };
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((folder) => {
    try {
      accessSync(join(folder, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
