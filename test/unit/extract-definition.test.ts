/**
 * A definition with a mistake is refused before anything runs, and the refusal names the field
 * (functions/core/extract-definition.ts, extracts/folders.ts). Each case starts from the second
 * extract's real definition (test/fixtures/extracts/client-activity) and changes one thing.
 */
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExtractDefinitionError,
  extractSetProblems,
  parseExtractDefinition,
  renderKey,
  type ExtractDefinition,
} from '../../functions/core/extract-definition';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { deliveredBySftp } from '../../functions/core/extract-keys';
import { findExtract, loadExtractFolder, loadExtracts } from '../../extracts/folders';

const FIXTURES = join(__dirname, '..', 'fixtures', 'extracts');
const CLIENT_ACTIVITY = join(FIXTURES, 'client-activity');
const LOAN_EXTRACT = join(__dirname, '..', '..', 'extracts', 'loan-moving-average');

type Json = Record<string, unknown>;

function clientActivityJson(): Json {
  return JSON.parse(readFileSync(join(CLIENT_ACTIVITY, 'extract.json'), 'utf8')) as Json;
}

/** The definition with `change` applied to a fresh copy. */
function changed(change: (d: Json & { schedule: Json; output: Json & { keys: Json; splitBy: Json }; source: Json }) => void): Json {
  const definition = clientActivityJson();
  change(definition as Parameters<typeof change>[0]);
  return definition;
}

/** The problems a refusal lists; fails the test when the definition is accepted. */
function problemsOf(value: unknown): readonly string[] {
  try {
    parseExtractDefinition(value, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ExtractDefinitionError);
    return (error as ExtractDefinitionError).problems;
  }
  throw new Error('the definition was accepted');
}

const withFileKey = (file: string) => changed((d) => (d.output.keys.file = file));

describe('the definitions in the repository', () => {
  it('accepts the loan extract and the second extract', () => {
    expect(loadExtractFolder(LOAN_EXTRACT).definition.id).toBe('loan-moving-average');
    const second = loadExtractFolder(CLIENT_ACTIVITY);
    expect(second.definition.id).toBe('client-activity');
    expect(second.files).toEqual(['extract.json', 'sql/rows.sql', 'sql/branches.sql']);
    expect(second.sql.rejected).toBeUndefined();
    expect(second.sql.windowRead).toBeUndefined();
  });

  it('finds the second extract only through EXTRACTS_PATH, and the two side by side do not clash', () => {
    expect(() => findExtract('client-activity', {})).toThrow(/no folder client-activity\/extract\.json/);
    expect(findExtract('client-activity', { EXTRACTS_PATH: 'test/fixtures/extracts' }).dir).toBe(CLIENT_ACTIVITY);
    expect(loadExtracts({ EXTRACTS_PATH: 'test/fixtures/extracts' }).map((f) => f.definition.id)).toEqual(['loan-moving-average', 'client-activity']);
  });

  it('renders the second extract’s keys as the brief spells them (worked out by hand for 2024-02, branch 10)', () => {
    const { output } = loadExtractFolder(CLIENT_ACTIVITY).definition;
    const month = monthWindow(parseMonth('2024-02'));
    expect(renderKey(output.keys.file, month, { fileName: 'x', id: 10 })).toBe('extracts/client-activity/branch_id=10/2024-02/branch10_clients_20240229.csv');
    expect(renderKey(output.keys.manifest, month)).toBe('extracts/client-activity/_manifests/2024-02.json');
  });
});

describe('fields checked one by one', () => {
  it.each<[string, Json, RegExp]>([
    ['an id that is not lower-case words', changed((d) => (d.id = 'Client_Activity')), /^id: must be lower-case words/],
    ['an unknown field (a typo)', changed((d) => (d.schedul = d.schedule)), /^\(definition\): .*schedul/],
    ['a recipient that is not an email address', changed((d) => (d.recipients = ['branch reporting'])), /^recipients\.0: /],
    ['an output type that does not exist', changed((d) => ((d.output.columns as Json[])[4]!.type = 'float')), /^output\.columns\.4\.type: /],
    ['a source column of an unknown family', changed((d) => (((d.source.tables as Record<string, Json>).loans!.columns as Json).amount = 'numeric')), /^source\.tables\.loans\.columns\.amount: /],
    ['a SQL file outside the folder', changed((d) => ((d.sql as Json).rows = '../other/rows.sql')), /^sql\.rows: must stay inside the extract folder/],
    ['an SFTP delivery that is not true or false', changed((d) => (d.delivery = { sftp: 'yes' })), /^delivery\.sftp: /],
    ['a delivery by an unknown means', changed((d) => (d.delivery = { sftp: true, email: true })), /^delivery: .*email/],
  ])('%s', (_case, definition, problem) => {
    expect(problemsOf(definition)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('delivers by SFTP only an extract that says so: the loan extract, not the fixture', () => {
    expect(deliveredBySftp(parseExtractDefinition(clientActivityJson(), 'test'))).toBe(false);
    expect(deliveredBySftp(parseExtractDefinition(changed((d) => (d.delivery = { sftp: true })), 'test'))).toBe(true);
    expect(deliveredBySftp(loadExtractFolder(LOAN_EXTRACT).definition)).toBe(true);
  });
});

describe('key patterns that can collide or fold to nothing', () => {
  it.each<[string, Json, RegExp]>([
    ['a file key without {name} or {id}: every branch of a month writes one key', withFileKey('extracts/client-activity/{yyyy}-{mm}/clients_{yyyymmdd}.csv'), /^output\.keys\.file: does not name the entity/],
    ['{id} only in a folder: the downloaded files overwrite each other', withFileKey('extracts/client-activity/branch_id={id}/{yyyy}-{mm}/clients_{yyyymmdd}.csv'), /^output\.keys\.file: its file name does not name the entity/],
    ['a file key without month tokens: every month writes the same keys', withFileKey('extracts/client-activity/branch{id}.csv'), /^output\.keys\.file: does not name the month/],
    ['a file key with the year and not the month', withFileKey('extracts/client-activity/{yyyy}/branch{id}.csv'), /^output\.keys\.file: does not name the month/],
    ['a file name that folds to nothing', withFileKey('extracts/x/{yyyy}/{mm}/-.csv'), /^output\.keys\.file: its file name folds to nothing/],
    ['a non-ASCII literal', withFileKey('extracts/Société/{yyyy}/{mm}/branch{id}.csv'), /^output\.keys\.file: literal text "extracts\/Société\/" holds characters other than/],
    ['a space in a literal', withFileKey('extracts/client activity/{yyyy}/{mm}/branch{id}.csv'), /^output\.keys\.file: literal text .* holds characters other than/],
    ['an unknown token', withFileKey('extracts/client-activity/{month}/branch{id}_{yyyymmdd}.csv'), /^output\.keys\.file: unknown token \{month\}/],
    ['{id} and {name} run together', withFileKey('extracts/client-activity/{yyyy}/{mm}/{id}{name}.csv'), /^output\.keys\.file: runs \{name\} and \{id\} together/],
    ['a file key outside extracts/', withFileKey('exports/client-activity/{yyyy}/{mm}/branch{id}.csv'), /^output\.keys\.file: must start with extracts\//],
    ['a file key that is not a .csv', withFileKey('extracts/client-activity/{yyyy}/{mm}/branch{id}.txt'), /^output\.keys\.file: must end with \.csv/],
    ['an empty path segment', withFileKey('extracts/client-activity//{yyyy}/{mm}/branch{id}.csv'), /^output\.keys\.file: has an empty, \. or \.\. path segment/],
    ['a manifest key naming an entity', changed((d) => (d.output.keys.manifest = 'extracts/client-activity/_manifests/{yyyy}-{mm}-{id}.json')), /^output\.keys\.manifest: names an entity/],
    ['a manifest key without the month', changed((d) => (d.output.keys.manifest = 'extracts/client-activity/_manifests/manifest.json')), /^output\.keys\.manifest: does not name the month/],
    [
      'a manifest key the file key can write over',
      changed((d) => (d.output.keys.manifest = 'extracts/client-activity/branch_id={yyyy}-{mm}.json')),
      /^output\.keys\.manifest: can be the same key as output\.keys\.file/,
    ],
  ])('%s', (_case, definition, problem) => {
    expect(problemsOf(definition)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});

describe('bad schedules', () => {
  it.each<[string, string, RegExp]>([
    ['five fields (Unix cron)', 'cron(30 6 3 * ?)', /is not cron\(minutes hours day-of-month month day-of-week year\)/],
    ['not a cron expression', 'rate(30 days)', /is not cron\(/],
    ['every two hours', 'cron(0 */2 1 * ? *)', /minutes and hours must each be one number, not 0 and \*\/2/],
    ['twice an hour', 'cron(0,30 6 1 * ? *)', /minutes and hours must each be one number/],
    ['a time that is not one', 'cron(75 6 3 * ? *)', /6:75 is not a time of day/],
    ['an hour that is not one', 'cron(0 24 3 * ? *)', /24:0 is not a time of day/],
    ['a day not in every month', 'cron(30 6 31 * ? *)', /day-of-month 31 is not in every month/],
    ['day 0', 'cron(30 6 0 * ? *)', /day-of-month 0 is not in every month/],
    ['several days a month', 'cron(30 6 1,15 * ? *)', /day-of-month 1,15 must be one day, 1-28 or L: the extract runs once a month/],
    ['a range of days', 'cron(30 6 1-7 * ? *)', /day-of-month 1-7 must be one day/],
    ['the weekday nearest a day', 'cron(30 6 15W * ? *)', /day-of-month 15W must be one day/],
    ['the last weekday', 'cron(30 6 LW * ? *)', /day-of-month LW must be one day/],
    ['no day of the month (both days ?)', 'cron(30 6 ? * ? *)', /day-of-month \? must be one day/],
    ['a day of the week besides the day of the month', 'cron(30 6 3 * MON *)', /day-of-week must be \?, not MON: the extract runs on a day of the month, not of the week/],
    ['yearly', 'cron(0 2 1 1 ? *)', /month must be \*, not 1: the extract runs every month/],
    ['every other month', 'cron(0 2 1 */2 ? *)', /month must be \*, not \*\/2/],
    ['only in 2025', 'cron(0 2 1 * ? 2025)', /year must be \*, not 2025: the extract runs every year, without an end/],
  ])('%s: %s', (_case, cron, problem) => {
    const problems = problemsOf(changed((d) => (d.schedule.cron = cron)));
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^schedule\\.cron: .*${problem.source}`))]);
  });

  it('refuses a day-of-week schedule for both its reasons, each naming schedule.cron', () => {
    expect(problemsOf(changed((d) => (d.schedule.cron = 'cron(0 2 ? * MON#1 *)')))).toEqual([
      expect.stringMatching(/^schedule\.cron: day-of-month \? must be one day, 1-28 or L/),
      expect.stringMatching(/^schedule\.cron: day-of-week must be \?, not MON#1/),
    ]);
  });

  it.each(['cron(0 2 1 * ? *)', 'cron(30 6 28 * ? *)', 'cron(59 23 L * ? *)', 'cron(0 0 1 * ? *)'])('accepts a monthly schedule (L: the last day): %s', (cron) => {
    expect(() => parseExtractDefinition(changed((d) => (d.schedule.cron = cron)), 'test')).not.toThrow();
  });

  it.each([
    ['Mars/Olympus', /is not an IANA time zone/],
    ['GMT+2', /is not an IANA time zone/],
    ['', /is not an IANA time zone/],
    ['europe/london', /must be spelled as IANA spells it: Europe\/London/],
  ])('time zone %j', (timeZone, problem) => {
    expect(problemsOf(changed((d) => (d.schedule.timeZone = timeZone)))).toEqual([expect.stringMatching(new RegExp(`^schedule\\.timeZone: .*${problem.source}`))]);
  });
});

describe('fields that must agree', () => {
  it.each<[string, Json, RegExp]>([
    ['orderBy not an output column', changed((d) => (d.output.orderBy = 'branch_id')), /^output\.orderBy: branch_id is not an output column/],
    ['orderBy on a date', changed((d) => (d.output.orderBy = 'first_loan_date')), /^output\.orderBy: first_loan_date is date; it must be integer or count/],
    ['a control total of a month column', changed((d) => (d.output.controlTotals = ['loan_count', 'month'])), /^output\.controlTotals\.1: month is month/],
    ['a control total listed twice', changed((d) => (d.output.controlTotals = ['loan_count', 'loan_count'])), /^output\.controlTotals\.1: loan_count is listed twice/],
    ['the split id also an output column', changed((d) => (d.output.splitBy.idColumn = 'client_id')), /^output\.splitBy\.idColumn: client_id is an output column/],
    ['a name column that is not text', changed((d) => (d.output.splitBy.nameColumn = 'loan_count')), /^output\.splitBy\.nameColumn: loan_count is count; it must be text/],
    ['a month column that is a date', changed((d) => (d.output.monthColumn = 'first_loan_date')), /^output\.monthColumn: first_loan_date is date; it must be month/],
    ['an output column twice', changed((d) => (d.output.columns as Json[]).push({ name: 'month', type: 'month' })), /^output\.columns: month appear/],
    [
      'a window column without a window read',
      changed((d) => (((d.source.tables as Record<string, Json>).loans!.windowColumn = 'loan_date'))),
      /^source\.windowRead: windowColumn and keyInRead read through a window read, and there is none/,
    ],
    ['manifest fields that are one', changed((d) => ((d.output.manifestFields as Json).name = 'branchId')), /^output\.manifestFields: id and name must differ/],
  ])('%s', (_case, definition, problem) => {
    expect(problemsOf(definition)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('lists every problem at once, not only the first', () => {
    const problems = problemsOf(changed((d) => {
      d.schedule.timeZone = 'Mars/Olympus';
      d.output.keys.file = 'extracts/client-activity/clients.csv';
    }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^schedule\.timeZone: /),
        expect.stringMatching(/^output\.keys\.file: does not name the month/),
        expect.stringMatching(/^output\.keys\.file: does not name the entity/),
      ]),
    );
  });
});

describe('extracts deployed together', () => {
  const second = (): ExtractDefinition => loadExtractFolder(CLIENT_ACTIVITY).definition;
  const loan = (): ExtractDefinition => loadExtractFolder(LOAN_EXTRACT).definition;

  it('two extracts whose keys overlap are refused, naming both fields', () => {
    const copy = parseExtractDefinition({ ...clientActivityJson(), id: 'client-activity-copy' }, 'test');
    expect(extractSetProblems([second(), copy])).toEqual(
      expect.arrayContaining([
        "extract client-activity-copy: output.keys.file can write the same keys as extract client-activity's output.keys.file; their fixed beginnings must differ",
        "extract client-activity-copy: output.keys.manifest can write the same keys as extract client-activity's output.keys.manifest; their fixed beginnings must differ",
      ]),
    );
  });

  it('a key of one extract under a folder of another’s is refused', () => {
    const inside = parseExtractDefinition(
      changed((d) => {
        d.id = 'inside-loans';
        d.output.keys.file = 'extracts/bank_name=Inside/{yyyy}/{mm}/branch{id}.csv';
        d.output.keys.manifest = 'extracts/inside-loans/{yyyy}-{mm}.json';
      }),
      'test',
    );
    expect(extractSetProblems([loan(), inside])).toEqual([
      "extract inside-loans: output.keys.file can write the same keys as extract loan-moving-average's output.keys.file; their fixed beginnings must differ",
    ]);
  });

  it('the loan extract and the second do not clash', () => {
    expect(extractSetProblems([loan(), second()])).toEqual([]);
  });

  it('two folders with the same id are refused', () => {
    expect(extractSetProblems([second(), second()])).toEqual(['extracts client-activity: two definitions have this id']);
  });
});

describe('extract folders', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'extract-folders-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A copy of the second extract's folder under `root`, named `name`. */
  function copyFolder(name: string): string {
    const dir = join(root, name);
    cpSync(CLIENT_ACTIVITY, dir, { recursive: true });
    return dir;
  }

  const refusal = (load: () => unknown): readonly string[] => {
    try {
      load();
    } catch (error) {
      expect(error).toBeInstanceOf(ExtractDefinitionError);
      return (error as ExtractDefinitionError).problems;
    }
    throw new Error('the folder was accepted');
  };

  it('a folder whose name is not the id is refused', () => {
    expect(refusal(() => loadExtractFolder(copyFolder('client-activities')))).toEqual(["id: client-activity is not the folder's name client-activities (extract.json)"]);
  });

  it('a missing SQL file is refused, naming the field and the file', () => {
    const dir = copyFolder('client-activity');
    rmSync(join(dir, 'sql', 'branches.sql'));
    expect(refusal(() => loadExtractFolder(dir))).toEqual([`sql.entities: sql/branches.sql is not in ${dir}`]);
  });

  it('two SQL files with one file name are refused (Glue puts --extra-files in one folder)', () => {
    const dir = copyFolder('client-activity');
    cpSync(join(dir, 'sql'), join(dir, 'other'), { recursive: true });
    renameSync(join(dir, 'other', 'branches.sql'), join(dir, 'other', 'rows.sql'));
    const definition = clientActivityJson();
    (definition.sql as Json).entities = 'other/rows.sql';
    writeFileSync(join(dir, 'extract.json'), JSON.stringify(definition));
    expect(refusal(() => loadExtractFolder(dir))).toEqual(['sql: sql/rows.sql and other/rows.sql share the file name rows.sql; Glue puts them in one folder']);
  });

  it('a definition that is not JSON is refused', () => {
    const dir = copyFolder('client-activity');
    writeFileSync(join(dir, 'extract.json'), '{ "id": "client-activity", }');
    expect(refusal(() => loadExtractFolder(dir))).toEqual([expect.stringMatching(/^extract\.json: cannot be read as JSON/)]);
  });

  it('a second root holding a copy under another id, same keys, is refused when loading every extract', () => {
    const dir = copyFolder('client-activity-copy');
    writeFileSync(join(dir, 'extract.json'), JSON.stringify({ ...clientActivityJson(), id: 'client-activity-copy' }));
    expect(refusal(() => loadExtracts({ EXTRACTS_PATH: `test/fixtures/extracts:${root}` }))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^extract client-activity-copy: output\.keys\.file can write the same keys as extract client-activity's/)]),
    );
  });
});
