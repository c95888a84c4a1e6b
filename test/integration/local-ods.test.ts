/**
 * `npm run ods`: the embedded sample ODS served to ordinary PostgreSQL clients. Debian's
 * psql counts the sample's loans over the printed command, more than one client is served at a
 * time, and the printed `--source` URL makes `npm start` publish what it publishes from its own
 * embedded sample of the same day.
 *
 * Needs psql: without it the client tests are skipped, saying so, except under CI=true, where they fail.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { calendarDateIn, formatCalendarDate } from '../../functions/core/month';
import { clientPrograms } from '../support/client-programs';
import { cliReport, runExtractCli, startLocalCommand, type RunningCommand } from '../support/local-cli';

const TIME_ZONE = 'Africa/Johannesburg';
const LOANS = 1500;
// The same sample in every run of this file, even across midnight (the sample is seeded by day).
const SAMPLE = ['--loans', String(LOANS), '--sample-date', formatCalendarDate(calendarDateIn(new Date(), TIME_ZONE))];
const clients = clientPrograms({ psql: 'postgresql-client' });
const execFileAsync = promisify(execFile);

function startOds(args: readonly string[], options: { viaNpm?: boolean; timeoutMs?: number } = {}): RunningCommand {
  return startLocalCommand('local/ods-cli.ts', 'ods', args, { timeoutMs: 30_000, ...options });
}

let dir: string;
beforeAll(async () => {
  process.env.STAGE_TIME_ZONE = TIME_ZONE;
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-ods-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run ods: refused before it starts', () => {
  it('an unknown flag, a port that is none, a --loans that is no count: InvalidInput, exit 2 (through npm, as typed)', async () => {
    const unknown = await startOds(['--database', 'ods'], { viaNpm: true }).finished;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("✖ InvalidInput: arguments: Unknown option '--database'");
    const port = await startOds(['--port', '65536']).finished;
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('✖ InvalidInput: port: must be a TCP port from 0 to 65535, got "65536"');
    const loans = await startOds(['--loans', 'many']).finished;
    expect(loans.code).toBe(2);
    expect(loans.stderr).toContain('✖ InvalidInput: loans: must be a whole number, got "many"');
  });
});

clients.describe('npm run ods, with psql', () => {
  let ods: RunningCommand;
  let url: string;

  const psql = async (sql: string) => (await execFileAsync('psql', [url, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeout: 30_000 })).stdout.trim();

  beforeAll(async () => {
    clients.require();
    ods = startOds(['--port', '0', ...SAMPLE], { timeoutMs: 280_000 });
    await ods.waitForOutput(/Ctrl-C stops it/);
    url = /^ +psql: +psql (\S+)$/m.exec(ods.stdout())![1]!;
  }, 60_000);

  afterAll(async () => {
    if (!ods) return;
    ods.signal('SIGKILL', true); // only if the SIGTERM test did not stop it
    await ods.finished;
  });

  it("prints the psql command, and psql counts the sample's loans over it", async () => {
    expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(ods.stdout()).toContain(`npm start: npm start -- --source ${url}`);
    expect(ods.stdout()).toContain(`3 banks, `);
    expect(await psql('SELECT count(*) FROM loans')).toBe(String(LOANS));
  });

  it('serves more than one client at a time (pglite-socket alone would turn the second away)', async () => {
    const first = new Client({ connectionString: url });
    await first.connect();
    try {
      expect(await psql('SELECT count(*) FROM bank')).toBe('3');
      expect((await first.query<{ n: string }>('SELECT count(*) AS n FROM branch')).rows[0]!.n).toBe(await psql('SELECT count(*) FROM branch'));
    } finally {
      await first.end();
    }
  });

  it("npm start -- --source <the printed URL> publishes what npm start publishes from its own sample of the day", async () => {
    const fromServed = cliReport(await runExtractCli(['--source', url], join(dir, 'served')));
    const fromEmbedded = cliReport(await runExtractCli(SAMPLE, join(dir, 'embedded')));
    expect(fromServed.outcome).toBe('succeeded');
    expect(fromServed.source).toEqual({ kind: 'postgres', url });
    expect(fromServed.files.map((f) => [f.key, f.sha256])).toEqual(fromEmbedded.files.map((f) => [f.key, f.sha256]));
  });

  it('SIGTERM stops it cleanly: exit 0, and psql can no longer connect', async () => {
    ods.signal('SIGTERM');
    const ended = await ods.finished;
    expect(ended.stdout).toMatch(/SIGTERM: stopping\n {2}stopped\n$/);
    expect(ended.stderr).toBe('');
    expect(ended.code).toBe(0);
    await expect(psql('SELECT 1')).rejects.toThrow(/Connection refused|could not connect/);
  });
});
