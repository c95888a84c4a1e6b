/**
 * `npm start` refuses what it cannot use before anything starts (InvalidInput, exit 2, naming it):
 * an empty or unusable --data-dir, a repeated option, a --source URL that does not parse (without
 * printing its password), a --report path it cannot write, a --simulate-crash that is not a count.
 * And a source the extract may not read says so, rather than that its tables do not exist.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { calendarDateIn, formatMonth, lastCompleteMonth } from '../../functions/core/month';
import { withClient } from '../../local/postgres';
import { loadSampleOds } from '../../local/sample/generate';
import { realPostgresUrl, realServerDatabase } from '../support/databases';
import { cliReport, runExtractCli, startExtractCli, type CliRun } from '../support/local-cli';

const TIME_ZONE = 'Africa/Johannesburg';
const MONTH = formatMonth(lastCompleteMonth(new Date(), TIME_ZONE));
const ROOT = join(__dirname, '..', '..');

let dir: string;
let aFile: string;
beforeAll(async () => {
  process.env.STAGE_TIME_ZONE = TIME_ZONE;
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-input-'));
  aFile = join(dir, 'a-file');
  await writeFile(aFile, 'not a folder\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with exactly `args` (no --data-dir or --report added). */
function runWith(args: readonly string[]): Promise<CliRun> {
  return startExtractCli(args, dir, { standardArgs: false, timeoutMs: 30_000 }).finished;
}

function expectRefused(run: CliRun, message: string | RegExp): void {
  expect(run.code).toBe(2);
  if (typeof message === 'string') expect(run.stderr).toContain(`✖ InvalidInput: ${message}`);
  else expect(run.stderr).toMatch(message);
  expect(run.stdout).not.toMatch(/source:|execution/);
}

describe('npm start refuses, before anything starts', () => {
  it('--data-dir "" (it used to write into the current directory)', async () => {
    const before = (await readdir(ROOT)).sort();
    expectRefused(await runWith(['--data-dir', '', '--month', MONTH]), 'data-dir: is empty: name a folder (without --data-dir it is .local)');
    expect((await readdir(ROOT)).sort()).toEqual(before);
  });

  const onProc = existsSync('/proc/self') ? it : it.skip;
  onProc('--data-dir /proc/x at once, naming the folder (it used to hang)', async () => {
    const started = Date.now();
    expectRefused(await runWith(['--data-dir', '/proc/x', '--month', MONTH]), /✖ InvalidInput: data-dir: cannot use \/proc\/x as the data dir: ENOENT/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('--extract naming no extract, with the extracts there are (exit 2, as for any bad input)', async () => {
    expectRefused(
      await runWith(['--extract', 'no-such-extract', '--month', MONTH]),
      /✖ InvalidInput: extract: no folder no-such-extract\/extract\.json in .*; extracts there: loan-moving-average/,
    );
  });

  it('--data-dir under a file, naming it', async () => {
    expectRefused(await runWith(['--data-dir', join(aFile, 'sub'), '--month', MONTH]), `data-dir: cannot use ${join(aFile, 'sub')} as the data dir: ${aFile} is a file, not a folder`);
  });

  it.each([
    [['--month', MONTH, '--month', '2024-03'], 'month'],
    [['--force', '--force'], 'force'],
    [['--loans', '100', '--loans=200'], 'loans'],
    [['--data-dir', 'elsewhere'], 'data-dir'],
  ])('%j: a repeated option, rather than taking the last', async (args, option) => {
    const run = await runExtractCli(args, join(dir, 'repeated'), 30_000);
    expectRefused(run, `arguments: --${option} is given more than once; give it once`);
  });

  it.each([
    ['a port out of range', 'postgres://reader:s3cret-pw@db.example:99999/ods'],
    ['a space in the host', 'postgres://reader:s3cret-pw@db example/ods'],
  ])('a --source URL that does not parse (%s), without printing its password', async (_case, url) => {
    const run = await runExtractCli(['--source', url, '--month', MONTH], join(dir, 'source'), 30_000);
    expectRefused(run, 'source: is not a URL that parses');
    expect(run.stdout + run.stderr).not.toContain('s3cret');
  });

  it.each([
    ['under a file', () => join(aFile, 'report.json'), 'ENOTDIR'],
    ['a folder', () => dir, 'EISDIR'],
  ])('a --report path it cannot write (%s), instead of failing after the month ran', async (_case, path, code) => {
    const dataDir = join(dir, 'report');
    const run = await runWith(['--data-dir', dataDir, '--report', path(), '--month', MONTH]);
    expectRefused(run, new RegExp(`✖ InvalidInput: report: cannot write ${path().replace(/[/.]/g, '\\$&')}: ${code}`));
    // Nothing started: no stand-in made its store, and the data dir is free again.
    expect((await readdir(dataDir)).sort()).toEqual([]);
  });

  it.each(['0', '-1', 'two', '1.5'])('--simulate-crash %s: a whole number from 1 up', async (writes) => {
    const run = await runExtractCli(['--simulate-crash', writes, '--month', MONTH], join(dir, 'crash'), 30_000);
    expectRefused(run, writes === '-1' ? /✖ InvalidInput: arguments: Option '--simulate-crash[^']*' argument is ambiguous/ : `simulate-crash: must be a whole number from 1 up, got "${writes}"`);
  });
});

const onRealServer = realPostgresUrl() ? describe : describe.skip;
onRealServer('npm start against a source the extract may not read (a real PostgreSQL)', () => {
  const role = `extract_reader_${randomBytes(4).toString('hex')}`;
  let database: Awaited<ReturnType<typeof realServerDatabase>>;
  let readerUrl: string;

  beforeAll(async () => {
    database = await realServerDatabase();
    await withClient(database.url, async (client) => {
      await loadSampleOds(client, { loans: 2000, today: calendarDateIn(new Date(), TIME_ZONE) });
      await client.query(`CREATE ROLE ${role} LOGIN`);
    });
    const url = new URL(database.url);
    url.username = role;
    readerUrl = url.toString();
  });

  afterAll(async () => {
    await database?.drop();
    await withClient(realPostgresUrl()!, (client) => client.query(`DROP ROLE IF EXISTS ${role}`));
  });

  it('a table without the SELECT grant: "no SELECT privilege on public.loans for user …", not "does not exist"', async () => {
    await withClient(database.url, async (client) => {
      await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
      await client.query(`REVOKE SELECT ON public.loans FROM ${role}`);
    });
    const run = await runExtractCli(['--source', readerUrl, '--month', MONTH], join(dir, 'grant-one'));
    expect(run.code).toBe(1);
    expect(cliReport(run)).toMatchObject({ outcome: 'failed', error: 'ExtractJobFailed' });
    expect(run.stdout).toContain(`no SELECT privilege on public.loans for user ${role}`);
    expect(run.stdout).not.toContain('does not exist');
  });

  it('no grant at all: the crawler says the user may read none of the tables', async () => {
    await withClient(database.url, (client) => client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`));
    const run = await runExtractCli(['--source', readerUrl, '--month', MONTH], join(dir, 'grant-none'));
    expect(run.code).toBe(1);
    expect(cliReport(run)).toMatchObject({ outcome: 'failed', error: 'CrawlerFailed' });
    expect(run.stdout).toMatch(new RegExp(`user ${role} has no privilege on any of the \\d+ tables of schema "public" of the ODS`));
  });
});
