/**
 * An SFTP server (ssh2) over the published extracts, behaving as the stack's Transfer Family server
 * does for the consumer: one user, public-key logins only, `/` is the bucket's `extracts/`
 * (`PublishedTree`), read-only. Every request that would change something (upload, delete, rename,
 * mkdir, rmdir, setstat, symlink) is refused with SSH_FX_PERMISSION_DENIED, and so is any path
 * that climbs above `/`. Files are read by offset from the stored version that was current when
 * the client opened them, so a download is never a mix of two publishes.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Server, utils, type Attributes, type AuthContext, type Connection, type FileEntry, type ParsedKey, type SFTPWrapper } from 'ssh2';
import { formatTreePath, modifiedOf, resolveClientPath, type PublishedTree, type TreeNode, type TreePath } from './published-tree';
import { fingerprint } from './sftp-keys';

const { OPEN_MODE, STATUS_CODE } = utils.sftp;

/** Bytes per READ answer at most: what every client accepts (OpenSSH asks for 32 KiB at a time). */
const MAX_READ_BYTES = 32 * 1024;
/** Entries per READDIR answer. */
const DIRECTORY_PAGE = 100;

export interface SftpServerOptions {
  readonly tree: PublishedTree;
  readonly hostPrivateKey: string;
  readonly userName: string;
  /** The public keys the user may log in with, read at each login attempt. */
  authorizedKeys(): Promise<readonly ParsedKey[]>;
  readonly host: string;
  /** 0: a free port. */
  readonly port: number;
  /** One line per login, refusal and download, for the person running the server. */
  readonly log: (line: string) => void;
}

export interface SftpServer {
  readonly port: number;
  /** Stops listening and ends every session. */
  close(): Promise<void>;
}

export async function startSftpServer(options: SftpServerOptions): Promise<SftpServer> {
  const connections = new Set<Connection>();
  const server = new Server({ hostKeys: [options.hostPrivateKey], ident: 'loan-extract-local-sftp' }, (client, info) => {
    connections.add(client);
    const from = `${info.ip}:${info.port}`;
    let user: string | undefined;
    client.on('authentication', (ctx) => {
      void authenticate(ctx, options).then(
        (outcome) => {
          if (outcome.accepted) {
            user = ctx.username;
            if (outcome.log) options.log(`${from}: ${outcome.log}`);
            ctx.accept();
          } else {
            if (outcome.log) options.log(`${from}: ${outcome.log}`);
            ctx.reject(['publickey']);
          }
        },
        (error: unknown) => {
          options.log(`${from}: login failed: ${(error as Error).message}`);
          ctx.reject(['publickey']);
        },
      );
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), options.tree, (line) => options.log(`${from} ${user}: ${line}`)));
      });
    });
    // A client that goes away mid-handshake is its own business, not the server's end.
    client.on('error', (error) => options.log(`${from}: connection error: ${error.message}`));
    client.on('close', () => connections.delete(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of connections) client.end();
        server.close(() => resolve());
      }),
  };
}

/**
 * Public key only, for the one user: a client first asks whether a key would do (no signature),
 * then signs with it; the signature is checked against the authorized key it names. Anything else
 * (`none`, a password, keyboard-interactive, another user) is refused, offering publickey only.
 */
async function authenticate(ctx: AuthContext, options: SftpServerOptions): Promise<{ accepted: boolean; log?: string }> {
  if (ctx.method === 'none') return { accepted: false }; // every client's first probe
  if (ctx.username !== options.userName) return { accepted: false, log: `login refused: unknown user "${ctx.username}" (${ctx.method})` };
  if (ctx.method !== 'publickey') return { accepted: false, log: `login refused: ${ctx.method} (public keys only)` };
  const offered = ctx.key.data;
  const key = (await options.authorizedKeys()).find((candidate) => sameBytes(candidate.getPublicSSH(), offered));
  const shown = `${ctx.key.algo} key ${fingerprint(offered)}`;
  if (!key) return { accepted: false, log: `login refused: ${shown} is not in authorized_keys` };
  if (!ctx.signature) return { accepted: true }; // "would this key do?": yes, now sign
  if (!ctx.blob || key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return { accepted: false, log: `login refused: bad signature for ${shown}` };
  return { accepted: true, log: `${ctx.username} logged in with ${shown}` };
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

type Handle = { readonly kind: 'file'; readonly path: string; readonly file: FileHandle; readonly attrs: Attributes } | { readonly kind: 'folder'; pending: FileEntry[] };

function serveSftp(sftp: SFTPWrapper, tree: PublishedTree, log: (line: string) => void): void {
  const handles = new Map<number, Handle>();
  let nextHandle = 0;

  const newHandle = (handle: Handle): Buffer => {
    const id = nextHandle++;
    handles.set(id, handle);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id);
    return buffer;
  };
  const handleOf = (buffer: Buffer): [number, Handle] | [] => {
    const id = buffer.length === 4 ? buffer.readUInt32BE() : -1;
    const handle = handles.get(id);
    return handle ? [id, handle] : [];
  };

  /** Answers `reqId` by `answer`; an unexpected error (the store unreadable) is a failure the client sees, not the server's end. */
  const respond = (reqId: number, answer: () => Promise<void> | void) => {
    Promise.resolve()
      .then(answer)
      .catch((error: unknown) => {
        log(`failed: ${(error as Error).message}`);
        sftp.status(reqId, STATUS_CODE.FAILURE, 'the server could not read the extracts');
      });
  };
  /** The client's path below `/`, or a permission-denied answer when it climbs above it. */
  const resolved = (reqId: number, path: string): TreePath | undefined => {
    const segments = resolveClientPath(path);
    if (!segments) {
      log(`refused ${path}: outside /`);
      sftp.status(reqId, STATUS_CODE.PERMISSION_DENIED, `${path} is outside / (the extracts)`);
    }
    return segments;
  };
  const readOnly = (what: string) => (reqId: number, path: string) => {
    log(`refused ${what} ${path}: read-only`);
    sftp.status(reqId, STATUS_CODE.PERMISSION_DENIED, 'read-only: the extracts can only be listed and downloaded');
  };

  sftp.on('OPEN', (reqId, filename, flags) =>
    respond(reqId, async () => {
      if ((flags & ~OPEN_MODE.READ) !== 0 || (flags & OPEN_MODE.READ) === 0) return readOnly('writing')(reqId, filename);
      const path = resolved(reqId, filename);
      if (!path) return;
      const opened = await tree.open(path);
      if (!opened) {
        const node = await tree.stat(path);
        return sftp.status(reqId, node ? STATUS_CODE.FAILURE : STATUS_CODE.NO_SUCH_FILE, node ? `${filename} is a folder` : 'No such file');
      }
      log(`get ${formatTreePath(path)} (${opened.version.size} bytes)`);
      sftp.handle(reqId, newHandle({ kind: 'file', path: formatTreePath(path), file: opened.file, attrs: attributes({ kind: 'file', version: opened.version }) }));
    }),
  );
  sftp.on('READ', (reqId, buffer, offset, length) =>
    respond(reqId, async () => {
      const [, handle] = handleOf(buffer);
      if (handle?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'not an open file');
      const bytes = Buffer.alloc(Math.min(length, MAX_READ_BYTES));
      const { bytesRead } = await handle.file.read(bytes, 0, bytes.length, offset);
      if (bytesRead === 0) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, bytes.subarray(0, bytesRead));
    }),
  );
  sftp.on('FSTAT', (reqId, buffer) => {
    const [, handle] = handleOf(buffer);
    if (handle?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'not an open file');
    sftp.attrs(reqId, handle.attrs);
  });
  sftp.on('CLOSE', (reqId, buffer) =>
    respond(reqId, async () => {
      const [id, handle] = handleOf(buffer);
      if (!handle) return sftp.status(reqId, STATUS_CODE.FAILURE, 'no such handle');
      handles.delete(id!);
      if (handle.kind === 'file') await handle.file.close();
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('OPENDIR', (reqId, dirPath) =>
    respond(reqId, async () => {
      const path = resolved(reqId, dirPath);
      if (!path) return;
      const entries = await tree.list(path);
      if (!entries) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such folder');
      const pending = entries.map(({ name, node }): FileEntry => {
        const attrs = attributes(node);
        return { filename: name, longname: longName(name, node, attrs), attrs };
      });
      sftp.handle(reqId, newHandle({ kind: 'folder', pending }));
    }),
  );
  sftp.on('READDIR', (reqId, buffer) => {
    const [, handle] = handleOf(buffer);
    if (handle?.kind !== 'folder') return sftp.status(reqId, STATUS_CODE.FAILURE, 'not an open folder');
    if (handle.pending.length === 0) return sftp.status(reqId, STATUS_CODE.EOF);
    sftp.name(reqId, handle.pending.splice(0, DIRECTORY_PAGE));
  });
  const stat = (reqId: number, filePath: string) =>
    respond(reqId, async () => {
      const path = resolved(reqId, filePath);
      if (!path) return;
      const node = await tree.stat(path);
      if (!node) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      sftp.attrs(reqId, attributes(node));
    });
  sftp.on('STAT', stat);
  // There are no links: every path is a file or a folder.
  sftp.on('LSTAT', stat);
  sftp.on('REALPATH', (reqId, filePath) => {
    const path = resolved(reqId, filePath);
    if (!path) return;
    const name = formatTreePath(path);
    sftp.name(reqId, [{ filename: name, longname: name, attrs: {} as Attributes }]);
  });
  sftp.on('READLINK', (reqId, path) => sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, `${path} is not a link`));
  sftp.on('WRITE', (reqId) => readOnly('write')(reqId, '(open file)'));
  sftp.on('FSETSTAT', (reqId) => readOnly('setstat')(reqId, '(open file)'));
  sftp.on('SETSTAT', (reqId, path) => readOnly('setstat')(reqId, path));
  sftp.on('REMOVE', (reqId, path) => readOnly('remove')(reqId, path));
  sftp.on('RMDIR', (reqId, path) => readOnly('rmdir')(reqId, path));
  sftp.on('MKDIR', (reqId, path) => readOnly('mkdir')(reqId, path));
  sftp.on('RENAME', (reqId, oldPath, newPath) => readOnly('rename')(reqId, `${oldPath} -> ${newPath}`));
  sftp.on('SYMLINK', (reqId, targetPath, linkPath) => readOnly('symlink')(reqId, `${linkPath} -> ${targetPath}`));
  // The client is done (OpenSSH's sftp sends EOF as it quits): close the channel, as sftp-server exiting does, or it waits forever.
  sftp.on('end', () => sftp.end());
  sftp.on('close', () => {
    for (const handle of handles.values()) if (handle.kind === 'file') void handle.file.close().catch(() => undefined);
    handles.clear();
  });
}

/** Read-only modes: files r--r--r--, folders r-xr-xr-x. */
function attributes(node: TreeNode): Attributes {
  const time = Math.floor(modifiedOf(node).getTime() / 1000);
  return node.kind === 'file'
    ? { mode: 0o100444, uid: 0, gid: 0, size: node.version.size, atime: time, mtime: time }
    : { mode: 0o040555, uid: 0, gid: 0, size: 0, atime: time, mtime: time };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The `ls -l` line a client shows for the entry (as OpenSSH's server writes it). */
function longName(name: string, node: TreeNode, attrs: Attributes): string {
  const permissions = node.kind === 'file' ? '-r--r--r--' : 'dr-xr-xr-x';
  const when = modifiedOf(node);
  const recent = Math.abs(Date.now() - when.getTime()) < 182 * 24 * 3600 * 1000;
  const day = String(when.getUTCDate()).padStart(2, ' ');
  const tail = recent ? `${String(when.getUTCHours()).padStart(2, '0')}:${String(when.getUTCMinutes()).padStart(2, '0')}` : ` ${when.getUTCFullYear()}`;
  return `${permissions}    1 0        0        ${String(attrs.size).padStart(8, ' ')} ${MONTHS[when.getUTCMonth()]} ${day} ${tail} ${name}`;
}
