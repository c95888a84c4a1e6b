/**
 * `npm run sftp` as the consumer's team uses it: `npm start` publishes a month, the
 * server serves that data dir, and Debian's OpenSSH `sftp` in batch mode is the client. It sees the
 * bucket's `extracts/` as `/`, downloads the published bytes, and is refused every write, every
 * path above `/`, and every login but the user's authorized key.
 *
 * Needs OpenSSH's sftp and ssh-keygen: without them the client tests are skipped, saying so, except
 * under CI=true, where they fail.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ssh2';
import { manifestKey } from '../../functions/core/extract-keys';
import { calendarDateIn, formatCalendarDate, monthWindow, parseMonth } from '../../functions/core/month';
import { clientPrograms } from '../support/client-programs';
import type { RunReport } from '../../local/pipeline/run-report';
import { cliReport, runExtractCli, startLocalCommand, type CommandRun, type RunningCommand } from '../support/local-cli';
import { LOAN_EXTRACT } from '../support/run-context';

const TIME_ZONE = 'Africa/Johannesburg';
const USER = 'loan-extract-consumer';
// The same sample in every run of this file, even across midnight (the sample is seeded by day).
const SAMPLE = ['--loans', '1500', '--sample-date', formatCalendarDate(calendarDateIn(new Date(), TIME_ZONE))];
const clients = clientPrograms({ sftp: 'openssh-client', 'ssh-keygen': 'openssh-client' });

let dir: string;
let dataDir: string;
let published: RunReport;

beforeAll(async () => {
  process.env.STAGE_TIME_ZONE = TIME_ZONE;
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-sftp-'));
  dataDir = join(dir, 'data');
  published = cliReport(await runExtractCli(SAMPLE, dataDir));
  expect(published.outcome).toBe('succeeded');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function startSftp(args: readonly string[], options: { viaNpm?: boolean; timeoutMs?: number } = {}): RunningCommand {
  return startLocalCommand('local/sftp-cli.ts', 'sftp', args, { timeoutMs: 30_000, ...options });
}

/** A run that refuses to start: it ends by itself. */
function refusedStart(args: readonly string[], viaNpm = false): Promise<CommandRun> {
  return startSftp(args, { viaNpm }).finished;
}

describe('npm run sftp: refused before it serves anything', () => {
  it('an unknown flag, a port that is none, an empty --data-dir: InvalidInput, exit 2 (through npm, as typed)', async () => {
    const unknown = await refusedStart(['--data-dir', dataDir, '--user', 'me'], true);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("✖ InvalidInput: arguments: Unknown option '--user'");
    const port = await refusedStart(['--data-dir', dataDir, '--port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('✖ InvalidInput: port: must be a TCP port from 0 to 65535, got "70000"');
    const notANumber = await refusedStart(['--data-dir', dataDir, '--port', 'ssh']);
    expect(notANumber.code).toBe(2);
    expect(notANumber.stderr).toContain('✖ InvalidInput: port: must be a whole number, got "ssh"');
    const empty = await refusedStart(['--data-dir', ' ']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('✖ InvalidInput: data-dir: is empty: name a folder (without --data-dir it is .local)');
  });

  it('a data dir that does not exist, or where nothing is published yet: says to run npm start first, exit 2', async () => {
    const missing = await refusedStart(['--data-dir', join(dir, 'no-such-dir'), '--port', '0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`✖ InvalidInput: data-dir: ${join(dir, 'no-such-dir')} does not exist: run npm start first`);
    const emptyDir = join(dir, 'nothing-published');
    await mkdir(emptyDir);
    const nothing = await refusedStart(['--data-dir', emptyDir, '--port', '0']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain(`✖ InvalidInput: data-dir: nothing is published in ${emptyDir} yet: run npm start (with the same --data-dir) first`);
  });

  it('a port another process listens on: PortInUse, exit 1', async () => {
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = other.address() as AddressInfo;
      const run = await refusedStart(['--data-dir', dataDir, '--port', String(port)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`✖ PortInUse: port ${port} on 127.0.0.1 is in use (another npm run sftp?): choose another with --port`);
    } finally {
      other.close();
    }
  });
});

const execFileAsync = promisify(execFile);

interface ClientRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(command: string, args: readonly string[], cwd?: string): Promise<ClientRun> {
  try {
    // No agent: only the key a test names may be offered.
    const { stdout, stderr } = await execFileAsync(command, args, { cwd, env: { ...process.env, SSH_AUTH_SOCK: '' }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

clients.describe('npm run sftp, with OpenSSH sftp -b as the consumer', () => {
  let server: RunningCommand;
  let port: number;
  let printedFingerprint: string;
  let knownHosts: string;
  let downloads: string;
  let batches = 0;

  const keyPath = () => join(dataDir, 'sftp', 'client_ed25519');
  const serverLog = () => server.stdout();

  /** Waits (up to 5 s) for the server to log `text`: its log comes from another process, and may trail the client's exit. */
  async function logged(text: string): Promise<void> {
    const pattern = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the server did not log "${text}":\n${serverLog()}`)), 5_000);
    });
    try {
      await Promise.race([server.waitForOutput(pattern), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `sftp -b` with the commands, as `user` with `identity`, trusting only the host key the test wrote. */
  async function sftp(commands: readonly string[], options: { identity?: string; user?: string; extra?: readonly string[] } = {}): Promise<ClientRun> {
    const batch = join(dir, `batch-${++batches}`);
    await writeFile(batch, `${commands.join('\n')}\n`);
    return run(
      'sftp',
      [
        ...['-F', '/dev/null', '-b', batch, '-P', String(port), '-i', options.identity ?? keyPath()],
        ...['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`],
        ...(options.extra ?? []),
        `${options.user ?? USER}@127.0.0.1`,
      ],
      downloads,
    );
  }

  const manifestPath = () => sftpPath(manifestKey(LOAN_EXTRACT, monthWindow(parseMonth(published.month))));
  /** A published file's path as the consumer sees it: its key without `extracts/`. */
  const sftpPath = (key: string) => `/${key.slice('extracts/'.length)}`;

  beforeAll(async () => {
    clients.require();
    downloads = join(dir, 'downloads');
    await mkdir(downloads);
    server = startSftp(['--data-dir', dataDir, '--port', '0'], { timeoutMs: 280_000 });
    await server.waitForOutput(/Ctrl-C stops it/);
    port = Number(/listening: 127\.0\.0\.1:(\d+)/.exec(serverLog())![1]);
    printedFingerprint = /host key: +ssh-ed25519 (SHA256:\S+)/.exec(serverLog())![1]!;
    // The host key the server made, trusted only once it is the fingerprint the server printed.
    const hostPublicKey = (await readFile(join(dataDir, 'sftp', 'host_ed25519.pub'), 'utf8')).trim();
    knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
  }, 60_000);

  afterAll(async () => {
    if (!server) return;
    server.signal('SIGKILL', true); // only if the SIGTERM test did not stop it
    await server.finished;
  });

  it('prints the host key fingerprint (as ssh-keygen computes it), the user, the port and a ready command; keys under <data-dir>/sftp, the private one mode 0600', async () => {
    const fingerprint = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dataDir, 'sftp', 'host_ed25519.pub')]);
    expect(fingerprint.stdout.split(' ')[1]).toBe(printedFingerprint);
    expect(serverLog()).toContain(`user:      ${USER} (public key only`);
    for (const key of ['client_ed25519', 'host_ed25519']) {
      expect((await stat(join(dataDir, 'sftp', key))).mode & 0o777).toBe(0o600);
    }
    // No private key is ever printed.
    expect(serverLog()).not.toContain('PRIVATE KEY');
    expect(serverLog()).not.toContain((await readFile(keyPath(), 'utf8')).split('\n')[1]);

    // The printed command line, as a person pastes it (plus -b and no prompts), trusts the host by itself.
    const command = /^ +(sftp -i .*)$/m.exec(serverLog())![1]!;
    expect(command).toBe(`sftp -i ${keyPath()} -P ${port} -o UserKnownHostsFile=${join(dataDir, 'sftp', 'known_hosts')} ${USER}@127.0.0.1`);
    const batch = join(dir, 'printed-command');
    await writeFile(batch, 'ls /\n');
    const [, ...args] = command.split(' ');
    const pasted = await run('sftp', ['-F', '/dev/null', '-b', batch, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', ...args]);
    expect(pasted.stderr).not.toMatch(/warning|denied/i);
    expect(pasted.code).toBe(0);
    expect(pasted.stdout).toContain('_manifests');
  });

  it("lists the month's folders: / holds each bank's folder and _manifests, as Transfer Family maps extracts/", async () => {
    const banks = published.files.map((file) => /^extracts\/(bank_name=[^/]+)\//.exec(file.key)![1]!);
    const fileFolder = (path: string) => path.slice(0, path.lastIndexOf('/'));
    const listing = await sftp(['ls -1 /', `ls -1 ${fileFolder(manifestPath())}`, ...published.files.map((file) => `ls -1 ${fileFolder(sftpPath(file.key))}`)]);
    expect(listing.stderr).toBe('');
    expect(listing.code).toBe(0);
    const names = listing.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('sftp>'));
    // Each published key at its path without extracts/: what Transfer Family's home mapping shows.
    expect(names).toEqual(['/_manifests', ...banks.map((bank) => `/${bank}`).sort(), manifestPath(), ...published.files.map((file) => sftpPath(file.key))]);
  });

  it('gets a bank file: its bytes are the published object, as the manifest records them', async () => {
    const file = published.files[0]!;
    const target = join(downloads, 'bank-file.csv');
    const got = await sftp([`get ${sftpPath(file.key)} ${target}`]);
    expect(got.code).toBe(0);
    const bytes = await readFile(target);
    expect(bytes.equals(await readFile(file.path))).toBe(true);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    expect(bytes.length).toBe(file.bytes);
    await logged(`get ${sftpPath(file.key)} (${file.bytes} bytes)`);
  });

  const file = () => sftpPath(published.files[0]!.key);
  const writes: [string, () => string][] = [
    ['put (a new file)', () => `put ${__filename} /new.csv`],
    ['put (over a published file)', () => `put ${__filename} ${file()}`],
    ['rm', () => `rm ${file()}`],
    ['rename', () => `rename ${file()} /renamed.csv`],
    ['mkdir', () => 'mkdir /new-folder'],
    ['rmdir', () => 'rmdir /_manifests'],
    ['chmod (setstat)', () => `chmod 666 ${file()}`],
    ['ln -s', () => `ln -s ${file()} /link.csv`],
  ];
  it.each(writes)('%s is refused: Permission denied, and nothing changes', async (_name, command) => {
    const before = await sftp(['ls -1 /', `ls -l ${file()}`]);
    const refused = await sftp([command()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/: Permission denied$/m);
    expect(await sftp(['ls -1 /', `ls -l ${file()}`])).toEqual(before);
  });

  it.each([
    ['get /../s3-store/store.json', '/../s3-store/store.json'],
    ['get ../../s3-store/store.json', '/../../s3-store/store.json'],
    ['ls /..', '/..'],
    ['cd /_manifests/../..', '/_manifests/../..'],
  ])('%s: a path above / is refused (nothing outside extracts/ is reachable)', async (command, path) => {
    const refused = await sftp([command]);
    expect(refused.code).toBe(1);
    await logged(`refused ${path}: outside /`);
    await expect(stat(join(downloads, 'store.json'))).rejects.toThrow('ENOENT');
  });

  it('a key that is not in authorized_keys is refused', async () => {
    const wrongKey = join(dir, 'wrong_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'not the consumer', '-f', wrongKey]);
    const refused = await sftp(['ls /'], { identity: wrongKey });
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain(`${USER}@127.0.0.1: Permission denied (publickey).`);
    const wrongFingerprint = (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${wrongKey}.pub`])).stdout.split(' ')[1];
    await logged(`login refused: ssh-ed25519 key ${wrongFingerprint} is not in authorized_keys`);
  });

  it("the consumer's own public key, added to <data-dir>/sftp/authorized_keys, logs in at once (no restart)", async () => {
    const ownKey = join(dir, 'consumer_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'consumer system', '-f', ownKey]);
    const authorizedKeys = join(dataDir, 'sftp', 'authorized_keys');
    const before = await readFile(authorizedKeys, 'utf8');
    expect((await sftp(['ls /'], { identity: ownKey })).code).toBe(255);
    await writeFile(authorizedKeys, `${before}# the consumer's system\n${await readFile(`${ownKey}.pub`, 'utf8')}`);
    try {
      const admitted = await sftp(['ls /'], { identity: ownKey });
      expect(admitted.code).toBe(0);
      expect(admitted.stdout).toContain('_manifests');
    } finally {
      await writeFile(authorizedKeys, before);
    }
  });

  it('the right key for another user is refused', async () => {
    const refused = await sftp(['ls /'], { user: 'root' });
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('root@127.0.0.1: Permission denied (publickey).');
    await logged('login refused: unknown user "root"');
  });

  it('a password login is refused: OpenSSH is offered public keys only, and a client that sends a password anyway is turned away', async () => {
    const openssh = await sftp(['ls /'], { extra: ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive'] });
    expect(openssh.code).toBe(255);
    expect(openssh.stderr).toContain(`${USER}@127.0.0.1: Permission denied (publickey).`);

    const outcome = await new Promise<string>((resolve) => {
      const client = new Client();
      let tried = false;
      client.on('ready', () => {
        client.end();
        resolve('logged in');
      });
      client.on('error', (error) => resolve(error.message));
      client.connect({
        host: '127.0.0.1',
        port,
        username: USER,
        hostVerifier: () => true,
        // Sends the password whatever methods the server offers; gives up after that one try.
        authHandler: (_methodsLeft, _partial, next) => {
          if (tried) return next(false as never);
          tried = true;
          next({ type: 'password', username: USER, password: 'loan-extract-consumer' });
        },
      });
    });
    expect(outcome).toBe('All configured authentication methods failed');
    await logged('login refused: password (public keys only)');
  });

  it('a month re-published while the server runs is served as re-published on the next get', async () => {
    const before = published.files[0]!;
    // Another sample: the same month, other numbers.
    const republished = cliReport(await runExtractCli(['--loans', '1700', '--sample-date', SAMPLE[3]!, '--force'], dataDir));
    expect(republished.outcome).toBe('succeeded');
    const after = republished.files.find((f) => f.key === before.key)!;
    expect(after.sha256).not.toBe(before.sha256);
    const target = join(downloads, 'republished.csv');
    const manifest = join(downloads, 'manifest.json');
    const got = await sftp([`get ${sftpPath(after.key)} ${target}`, `get ${manifestPath()} ${manifest}`]);
    expect(got.code).toBe(0);
    expect(createHash('sha256').update(await readFile(target)).digest('hex')).toBe(after.sha256);
    expect(JSON.parse(await readFile(manifest, 'utf8'))).toMatchObject({ runId: republished.executionName });
  });

  it('SIGTERM stops it cleanly: exit 0, and the port is closed', async () => {
    server.signal('SIGTERM');
    const ended = await server.finished;
    expect(ended.stdout).toContain('SIGTERM: stopping');
    expect(ended.stdout).toMatch(/stopped\n$/);
    expect(ended.stderr).toBe('');
    expect(ended.code).toBe(0);
    const after = await sftp(['ls /']);
    expect(after.code).toBe(255);
    expect(after.stderr).toContain('Connection refused');
  });
});
