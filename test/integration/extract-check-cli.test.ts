/**
 * `npm run extract:check` as a person runs it: the SQL of an extract bound against its source model,
 * and the source model against the ODS, each mistake refused with the field and file named and exit
 * code 1. The broken extracts are copies of the second extract (test/fixtures/extracts/client-activity)
 * with one thing changed, in a temporary root given through EXTRACTS_PATH.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withClient } from '../../local/postgres';
import { createOdsSchema } from '../../local/sample/generate';
import { embeddedDatabase, type TestDatabase } from '../support/databases';
import { startLocalCommand, type CommandRun } from '../support/local-cli';

const FIXTURE = join(__dirname, '..', 'fixtures', 'extracts', 'client-activity');
const ROWS_SQL = readFileSync(join(FIXTURE, 'sql', 'rows.sql'), 'utf8');

function extractCheck(args: readonly string[], extractsPath: string): Promise<CommandRun> {
  return startLocalCommand('local/extract-check-cli.ts', 'extract:check', args, { env: { EXTRACTS_PATH: extractsPath }, timeoutMs: 90_000 }).finished;
}

/** The problems printed under `✖ <id>`. */
function problemsOf(run: CommandRun, id: string): string[] {
  const lines = run.stdout.split('\n');
  const at = lines.indexOf(`✖ ${id}`);
  if (at < 0) throw new Error(`no problems printed for ${id}:\n${run.stdout}\n${run.stderr}`);
  const problems: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('    ')) break;
    problems.push(line.trim());
  }
  return problems;
}

/** The parts of extract.json the broken copies change. */
interface EditableDefinition {
  id: string;
  schedule: { cron: string };
  source: { tables: Record<string, { columns: Record<string, string> }> };
  output: { keys: { file: string; manifest: string } };
}

describe('npm run extract:check', () => {
  let root: string;

  /** A copy of the second extract as `id` (keys of its own, so copies never clash), changed by `change`. */
  function brokenCopy(id: string, change: (dir: string, definition: EditableDefinition) => void): void {
    const dir = join(root, id);
    cpSync(FIXTURE, dir, { recursive: true });
    const definition = JSON.parse(readFileSync(join(dir, 'extract.json'), 'utf8')) as EditableDefinition;
    definition.id = id;
    definition.output.keys.file = `extracts/${id}/branch={id}/{yyyy}-{mm}/branch{id}_{yyyymmdd}.csv`;
    definition.output.keys.manifest = `extracts/${id}/_manifests/{yyyy}-{mm}.json`;
    change(dir, definition);
    writeFileSync(join(dir, 'extract.json'), JSON.stringify(definition, null, 2));
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'extract-check-'));
    // The ODS has loans.idloan, but the source model does not declare it: the engines would not read it.
    brokenCopy('unknown-column', (dir) => writeFileSync(join(dir, 'sql', 'rows.sql'), ROWS_SQL.replace('CAST(COUNT(*) AS BIGINT)', 'CAST(COUNT(l.idloan) AS BIGINT)')));
    brokenCopy('unknown-table', (dir) => writeFileSync(join(dir, 'sql', 'branches.sql'), 'SELECT idbank AS id, name FROM bank'));
    brokenCopy('missing-column', (dir) => writeFileSync(join(dir, 'sql', 'rows.sql'), ROWS_SQL.replace(',\n  MIN(l.loan_date) AS first_loan_date', '')));
    brokenCopy('renamed-column', (dir) => writeFileSync(join(dir, 'sql', 'rows.sql'), ROWS_SQL.replace('AS first_loan_date', 'AS first_loan')));
    brokenCopy('float-column', (dir) => writeFileSync(join(dir, 'sql', 'rows.sql'), ROWS_SQL.replace('CAST(SUM(CAST(l.amount AS BIGINT)) AS BIGINT)', 'AVG(l.amount)')));
    brokenCopy('text-date', (dir) => writeFileSync(join(dir, 'sql', 'rows.sql'), ROWS_SQL.replace('MIN(l.loan_date)', 'CAST(MIN(l.loan_date) AS VARCHAR)')));
    brokenCopy('source-not-in-ods', (_dir, d) => {
      d.source.tables.loans!.columns.interest_rate = 'integer';
      d.source.tables.loans!.columns.loan_date = 'text';
      d.source.tables.loan_fees = { columns: { fee: 'integer' } };
    });
    brokenCopy('bad-schedule', (_dir, d) => (d.schedule.cron = 'cron(0 */2 1 * ? *)'));
    brokenCopy('missing-sql', (dir) => rmSync(join(dir, 'sql', 'rows.sql')));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('passes the loan extract and the second extract, listing each one’s settings', async () => {
    const run = await extractCheck([], 'test/fixtures/extracts');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('✔ loan-moving-average  (extracts/loan-moving-average)');
    expect(run.stdout).toContain('✔ client-activity  (test/fixtures/extracts/client-activity)');
    expect(run.stdout).toContain('cron(30 6 3 * ? *) Europe/London; one file per branch: extracts/client-activity/branch_id={id}/{yyyy}-{mm}/branch{id}_clients_{yyyymmdd}.csv');
    expect(run.stdout).toContain('2 extracts checked');
  });

  it('refuses each broken copy, naming the field, the file and the column', async () => {
    const ids = ['unknown-column', 'unknown-table', 'missing-column', 'renamed-column', 'float-column', 'text-date', 'source-not-in-ods', 'bad-schedule', 'missing-sql'];
    const run = await extractCheck(ids, root);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('9 extracts with problems');
    expect(problemsOf(run, 'unknown-column')).toEqual([expect.stringMatching(/^sql\.rows \(sql\/rows\.sql, line \d+\): column idloan is not in the source model \(source\.tables\): /)]);
    expect(problemsOf(run, 'unknown-table')).toEqual([
      expect.stringMatching(/^sql\.entities \(sql\/branches\.sql, line 1\): table bank is not in the source model \(source\.tables\) nor extract_window: /),
    ]);
    expect(problemsOf(run, 'missing-column')).toEqual([
      'sql.rows (sql/rows.sql): returns (branch_id, client_id, month, loan_count, loan_amount); output.splitBy.idColumn, then output.columns in order say (branch_id, client_id, month, loan_count, loan_amount, first_loan_date): missing first_loan_date',
    ]);
    expect(problemsOf(run, 'renamed-column')).toEqual([expect.stringMatching(/^sql\.rows \(sql\/rows\.sql\): returns .*: missing first_loan_date; not declared first_loan$/)]);
    expect(problemsOf(run, 'float-column')).toEqual([
      'sql.rows (sql/rows.sql): column loan_amount is DOUBLE, a floating-point type; keep to integers and DECIMAL (money is never floating point)',
    ]);
    expect(problemsOf(run, 'text-date')).toEqual(['sql.rows (sql/rows.sql): column first_loan_date is VARCHAR; as date it must be a DATE (CAST it in the SQL)']);
    expect(problemsOf(run, 'source-not-in-ods')).toEqual([
      expect.stringMatching(/^source\.tables\.loans\.columns\.loan_date: is date in the sample ODS schema .*; text is one of /),
      expect.stringMatching(/^source\.tables\.loans\.columns\.interest_rate: public\.loans has no column interest_rate in the sample ODS schema/),
      expect.stringMatching(/^source\.tables\.loan_fees: public\.loan_fees is not a table of the sample ODS schema/),
      // And the SQL, bound with loan_date as the model now types it, no longer makes sense (line 31 compares it to a date).
      'sql.rows (sql/rows.sql, line 31): Binder Error: Cannot compare values of type VARCHAR and type DATE - an explicit cast is required',
    ]);
    expect(problemsOf(run, 'bad-schedule')).toEqual(['schedule.cron: minutes and hours must each be one number, not 0 and */2: the extract runs once at a set time']);
    expect(problemsOf(run, 'missing-sql')).toEqual([`sql.rows: sql/rows.sql is not in ${join(root, 'missing-sql')}`]);
  });

  it('checks the source models against a PostgreSQL ODS given with --ods', async () => {
    let database: TestDatabase | undefined;
    try {
      database = await embeddedDatabase();
      await withClient(database.url, async (client) => {
        await createOdsSchema(client);
        // An ODS that drifted from the model: a renamed column, a changed type.
        await client.query('ALTER TABLE loans RENAME COLUMN loan_date TO loan_day');
        await client.query('ALTER TABLE branch ALTER COLUMN address TYPE integer USING 0');
      });
      const run = await extractCheck(['client-activity', '--ods', database.url], 'test/fixtures/extracts');
      expect(run.code).toBe(1);
      expect(problemsOf(run, 'client-activity')).toEqual([
        expect.stringMatching(/^source\.tables\.branch\.columns\.address: is integer in the ODS at postgres:\/\/.*; text is one of character varying, text, character$/),
        expect.stringMatching(/^source\.tables\.loans\.columns\.loan_date: public\.loans has no column loan_date in the ODS at postgres:\/\/.* \(it has .*loan_day/),
      ]);
    } finally {
      await database?.drop();
    }
  });

  it('names the extracts there are when the id is unknown, and refuses unknown options', async () => {
    const unknown = await extractCheck(['no-such-extract'], 'test/fixtures/extracts');
    expect(unknown.code).toBe(1);
    expect(problemsOf(unknown, 'no-such-extract')).toEqual([expect.stringMatching(/extracts there: loan-moving-average, client-activity$/)]);
    const badOption = await extractCheck(['--odss', 'x'], 'test/fixtures/extracts');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/InvalidInput: arguments: .*usage: npm run extract:check/);
  });
});
