/**
 * The local SFTP server's keys, kept under `<data-dir>/sftp/` so that a client trusts the same host
 * key and logs in with the same key pair every start:
 *
 * - `host_ed25519` (+ `.pub`): the server's host key.
 * - `client_ed25519` (+ `.pub`): a key pair for the consumer's user, made for trying the server.
 * - `authorized_keys`: the public keys the user may log in with (as Transfer Family's user's
 *   SshPublicKeys), one OpenSSH line each; starts with the client key's, add your own below it.
 * - `known_hosts`: the host key for `[127.0.0.1]:<port>`, rewritten each start, for `sftp -o UserKnownHostsFile`.
 *
 * Private key files are mode 0600 (OpenSSH refuses a private key others can read).
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { utils, type ParsedKey } from 'ssh2';

export interface SftpKeys {
  /** The host key's private half, OpenSSH format, for the server only. */
  readonly hostPrivateKey: string;
  /** `ssh-ed25519 AAAA…`: the host key as a known_hosts line holds it. */
  readonly hostPublicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` and a first connection print it. */
  readonly hostFingerprint: string;
  readonly clientKeyPath: string;
  readonly authorizedKeysPath: string;
  readonly knownHostsPath: string;
  /** The files this start made (the first start makes them all). */
  readonly created: readonly string[];
}

const HOST_KEY = 'host_ed25519';
const CLIENT_KEY = 'client_ed25519';

/** Reads the keys under `folder`, making those that are missing. */
export async function prepareSftpKeys(folder: string): Promise<SftpKeys> {
  await mkdir(folder, { recursive: true });
  const created: string[] = [];
  const host = await keyPair(join(folder, HOST_KEY), 'loan-extract local SFTP host key', created);
  const clientKeyPath = join(folder, CLIENT_KEY);
  const client = await keyPair(clientKeyPath, 'loan-extract-consumer (local)', created);
  const authorizedKeysPath = join(folder, 'authorized_keys');
  const authorized = await readFile(authorizedKeysPath, 'utf8').catch(() => undefined);
  if (authorized === undefined) {
    await writeWhole(authorizedKeysPath, `${client.publicLine}\n`, 0o644);
    created.push(authorizedKeysPath);
  }
  const hostKey = parsed(host.publicLine, join(folder, `${HOST_KEY}.pub`));
  return {
    hostPrivateKey: host.privateText,
    hostPublicKey: host.publicLine.split(' ').slice(0, 2).join(' '),
    hostFingerprint: fingerprint(hostKey),
    clientKeyPath,
    authorizedKeysPath,
    knownHostsPath: join(folder, 'known_hosts'),
    created,
  };
}

/** Writes the known_hosts line a client needs to trust the server at `host:port`. */
export async function writeKnownHosts(keys: SftpKeys, host: string, port: number): Promise<void> {
  await writeWhole(keys.knownHostsPath, `${port === 22 ? host : `[${host}]:${port}`} ${keys.hostPublicKey}\n`, 0o644);
}

/** `SHA256:<base64 without padding>` of a public key's wire form (a ParsedKey's, or as a client sends it), as OpenSSH prints fingerprints. */
export function fingerprint(key: ParsedKey | Buffer): string {
  const wire = Buffer.isBuffer(key) ? key : key.getPublicSSH();
  return `SHA256:${createHash('sha256').update(wire).digest('base64').replace(/=+$/, '')}`;
}

export interface AuthorizedKeys {
  readonly keys: readonly ParsedKey[];
  /** Lines that hold no public key this server reads, as `line N: why`. */
  readonly problems: readonly string[];
}

/** The keys of an authorized_keys file (blank lines and `#` comments skipped); read at each login, so edits apply at once. */
export async function readAuthorizedKeys(path: string): Promise<AuthorizedKeys> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const keys: ParsedKey[] = [];
  const problems: string[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const key = utils.parseKey(line.trim());
    if (key instanceof Error || key.isPrivateKey()) problems.push(`line ${index + 1}: ${key instanceof Error ? key.message : 'a private key'}`);
    else keys.push(key);
  }
  return { keys, problems };
}

/** The key pair at `path` and `path.pub`, made (private half mode 0600) when the private half is missing. */
async function keyPair(path: string, comment: string, created: string[]): Promise<{ privateText: string; publicLine: string }> {
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing !== undefined) {
    const key = parsed(existing, path);
    // Someone may have loosened it; OpenSSH would then refuse to use it.
    await chmod(path, 0o600);
    const publicLine = `${key.type} ${key.getPublicSSH().toString('base64')} ${comment}`;
    await writeWhole(`${path}.pub`, `${publicLine}\n`, 0o644);
    return { privateText: existing, publicLine };
  }
  const pair = utils.generateKeyPairSync('ed25519', { comment });
  await writeWhole(path, pair.private, 0o600);
  await writeWhole(`${path}.pub`, `${pair.public.trim()}\n`, 0o644);
  created.push(path, `${path}.pub`);
  return { privateText: pair.private, publicLine: pair.public.trim() };
}

function parsed(text: string, path: string): ParsedKey {
  const key = utils.parseKey(text);
  if (key instanceof Error) throw new Error(`${path} holds no key this server reads (${key.message}): remove it and a new one is made`);
  return key;
}

/** Written aside with its mode, then renamed into place: never half a key, never briefly readable by others. */
async function writeWhole(path: string, text: string, mode: number): Promise<void> {
  const partial = `${path}.partial`;
  try {
    await rm(partial, { force: true });
    await writeFile(partial, text, { mode, flag: 'wx' });
    await chmod(partial, mode);
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
