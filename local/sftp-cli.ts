/**
 * `npm run sftp -- [--data-dir DIR] [--port 2222]`: the published extracts of DIR over SFTP, as the
 * consumer's system gets them from Transfer Family (local/sftp/), until Ctrl-C or SIGTERM.
 * docs/local.md.
 */
import { parseCommandLine, parseDataDir, parsePort, reportFailure, shown } from './cli-options';
import { SFTP_HOST, startLocalSftp } from './sftp/local-sftp';

const DEFAULT_PORT = 2222;

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), { 'data-dir': { type: 'string' }, port: { type: 'string' } });
  const dataDir = parseDataDir(args['data-dir']);
  const port = parsePort(args.port, 'port', DEFAULT_PORT);
  const sftp = await startLocalSftp({ dataDir, port, log: (line) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}`) });
  const { keys, userName } = sftp;
  const actualPort = sftp.server.port;

  console.log(`SFTP server for the extracts published in ${shown(dataDir)}, as Transfer Family serves them: / is the bucket's extracts/, read-only`);
  for (const file of keys.created) console.log(`  made ${shown(file)}${file === keys.clientKeyPath ? ' (the private key: mode 0600, keep it to yourself)' : ''}`);
  console.log(`  listening: ${SFTP_HOST}:${actualPort}`);
  console.log(`  host key:  ${keys.hostPublicKey.split(' ')[0]} ${keys.hostFingerprint}`);
  console.log(`  user:      ${userName} (public key only: the keys in ${shown(keys.authorizedKeysPath)})`);
  for (const problem of sftp.keyProblems) console.log(`  ✖ ${shown(keys.authorizedKeysPath)} ${problem}: that line lets no one in`);
  console.log(`  /:         ${sftp.rootEntries.join('  ')}`);
  console.log('  connect with:');
  console.log(`    sftp -i ${quoted(shown(keys.clientKeyPath))} -P ${actualPort} -o UserKnownHostsFile=${quoted(shown(keys.knownHostsPath))} ${userName}@${SFTP_HOST}`);
  console.log('  Ctrl-C stops it.');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n  ${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping (open sessions are ended)`);
    void sftp.server.close().then(() => console.log('  stopped'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** A path as a shell word: quoted when it holds anything a shell would split or expand. */
function quoted(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

main().catch(reportFailure);
