/**
 * `npm run sftp`'s server: the published extracts of a data dir (what `npm start` left in its S3
 * stand-in's store), served over SFTP as the stack's Transfer Family server serves them to the
 * consumer (resources/sftp.yml: its user, home `/` = `extracts/`, read-only, only the extracts whose
 * definition says `"delivery": {"sftp": true}`), with keys kept under
 * `<data-dir>/sftp/`. It only reads the store, so `npm start` may publish on the same data dir while
 * it runs.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../../functions/core/errors';
import { portInUse } from '../cli-options';
import { EXTRACTS_PREFIX, sftpKeyPrefixes } from '../../functions/core/extract-keys';
import { loadExtracts } from '../../extracts/folders';
import { LOCAL_STAGE, s3StoreDir } from '../pipeline/local-stack';
import { readDefaultParam } from '../pipeline/serverless-config';
import { StoredBucketReader } from '../stand-ins/s3-store';
import { PublishedTree } from './published-tree';
import { prepareSftpKeys, readAuthorizedKeys, writeKnownHosts, type SftpKeys } from './sftp-keys';
import { startSftpServer, type SftpServer } from './sftp-server';

export const SFTP_HOST = '127.0.0.1';

export interface LocalSftp {
  readonly server: SftpServer;
  readonly userName: string;
  readonly keys: SftpKeys;
  /** What `/` holds now (the banks' folders and `_manifests`). */
  readonly rootEntries: readonly string[];
  /** Lines of authorized_keys that hold no key this server reads. */
  readonly keyProblems: readonly string[];
}

export async function startLocalSftp(options: { dataDir: string; port: number; log: (line: string) => void }): Promise<LocalSftp> {
  const { dataDir, port, log } = options;
  if (!(await stat(dataDir).catch(() => undefined))?.isDirectory()) {
    throw new InvalidInputError('data-dir', `${dataDir} does not exist: run npm start first, or name the --data-dir it used`);
  }
  const bucket = await StoredBucketReader.open(s3StoreDir(dataDir), LOCAL_STAGE.extractBucket);
  // The extract folders of this checkout (and EXTRACTS_PATH), as the stack generates the SFTP role from them.
  const readable = sftpKeyPrefixes(loadExtracts(process.env).map((folder) => folder.definition));
  const tree = bucket && new PublishedTree(bucket, EXTRACTS_PREFIX, readable);
  const rootEntries = (await tree?.list([])) ?? [];
  if (!tree || rootEntries.length === 0) {
    throw new InvalidInputError('data-dir', `nothing is published in ${dataDir} yet: run npm start (with the same --data-dir) first`);
  }
  const userName = readDefaultParam('sftpUserName');
  const keys = await prepareSftpKeys(join(dataDir, 'sftp'));
  const { problems } = await readAuthorizedKeys(keys.authorizedKeysPath);
  const server = await startSftpServer({
    tree,
    hostPrivateKey: keys.hostPrivateKey,
    userName,
    authorizedKeys: async () => (await readAuthorizedKeys(keys.authorizedKeysPath)).keys,
    host: SFTP_HOST,
    port,
    log,
  }).catch(portInUse(port, 'another npm run sftp'));
  await writeKnownHosts(keys, SFTP_HOST, server.port);
  return {
    server,
    userName,
    keys,
    rootEntries: rootEntries.map((entry) => (entry.node.kind === 'folder' ? `${entry.name}/` : entry.name)),
    keyProblems: problems,
  };
}
