/**
 * scripts/serverless-glue-assets.js, the osls plugin that uploads glue/ and the extract folders after
 * `deploy`: it puts exactly the files the Glue jobs name into the bucket the stack reports (each
 * extract's at extracts/<id>/, where ResolveRun reads its definition), deletes what else is under
 * extracts/ (a removed extract's folder), and `package` fails offline when one is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExtract } from '../../extracts/folders';
import { REPOSITORY_ROOT } from './cloudformation';

interface SentCommand {
  constructor: { name: string };
  input: Record<string, unknown>;
}
interface GlueAssetsPlugin {
  hooks: Record<string, () => unknown>;
  uploadAssets(clients: { cloudFormation: FakeClient; s3: FakeClient }): Promise<{ bucket: string; keys: string[]; deleted: string[] }>;
  checkAssets(): Promise<unknown>;
}
type FakeClient = { send: jest.Mock<Promise<unknown>, [SentCommand]> };

/** A client whose every send() answers `response`, recording the commands. */
const fakeClient = (response: unknown): FakeClient => ({ send: jest.fn(async (_command: SentCommand) => response) });

/** A client answering each command by its name (`ListObjectsV2Command`: the pages in order), recording the commands. */
function fakeS3(listPages: Array<{ Contents?: Array<{ Key: string }>; IsTruncated?: boolean; NextContinuationToken?: string }>): FakeClient {
  const pages = [...listPages];
  return {
    send: jest.fn(async (command: SentCommand) => (command.constructor.name === 'ListObjectsV2Command' ? (pages.shift() ?? {}) : {})),
  };
}
const putsOf = (s3: FakeClient) => s3.send.mock.calls.map(([command]) => command).filter((c) => c.constructor.name === 'PutObjectCommand');

// A CommonJS plugin, loaded the way osls loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Plugin = require('../../scripts/serverless-glue-assets.js') as new (serverless: unknown, options: unknown, utils: unknown) => GlueAssetsPlugin;

function fakeServerless(serviceDir: string) {
  return {
    serviceDir,
    classes: { Error },
    getProvider: () => ({
      getAwsSdkV3Config: async () => ({ region: 'af-south-1' }),
      naming: { getStackName: () => 'monthly-loan-extract-prod' },
    }),
  };
}

const quiet = { log: { notice: () => undefined } };

describe('the Glue assets plugin', () => {
  it('runs after deploy, and checks the files when packaging', async () => {
    const plugin = new Plugin(fakeServerless(REPOSITORY_ROOT), {}, quiet);
    expect(Object.keys(plugin.hooks).sort()).toEqual(['after:deploy:deploy', 'before:package:finalize']);
    await expect(plugin.checkAssets()).resolves.toBeDefined();
  });

  it("uploads the script, the shared glue/ files and the loan extract's folder (every file its job takes with --extra-files) to the stack's scripts bucket", async () => {
    const cloudFormation = fakeClient({ Stacks: [{ Outputs: [{ OutputKey: 'ScriptsBucketName', OutputValue: 'scripts-bucket' }] }] });
    const s3 = fakeClient({});
    const plugin = new Plugin(fakeServerless(REPOSITORY_ROOT), {}, quiet);

    const loanFiles = findExtract('loan-moving-average').files.map((file) => `extracts/loan-moving-average/${file}`);
    await expect(plugin.uploadAssets({ cloudFormation, s3 })).resolves.toEqual({
      bucket: 'scripts-bucket',
      keys: ['glue/etl.py', 'glue/extract-layout.json', 'glue/rds-ca-bundle.pem', ...loanFiles],
      deleted: [],
    });
    const describe = cloudFormation.send.mock.calls[0]![0];
    expect([describe.constructor.name, describe.input]).toEqual(['DescribeStacksCommand', { StackName: 'monthly-loan-extract-prod' }]);
    const puts = putsOf(s3);
    expect(puts.map((c) => [c.constructor.name, c.input.Bucket, c.input.Key, c.input.ChecksumAlgorithm])).toEqual([
      ['PutObjectCommand', 'scripts-bucket', 'glue/etl.py', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/extract-layout.json', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/rds-ca-bundle.pem', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'extracts/loan-moving-average/extract.json', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'extracts/loan-moving-average/sql/branch_loans_3m.sql', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'extracts/loan-moving-average/sql/banks.sql', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'extracts/loan-moving-average/sql/rejected_loans.sql', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'extracts/loan-moving-average/sql/read_window.sql', 'SHA256'],
    ]);
    const body = (key: string) => String(puts.find((c) => c.input.Key === key)!.input.Body);
    expect(JSON.parse(body('extracts/loan-moving-average/extract.json'))).toMatchObject({ id: 'loan-moving-average' });
    expect(body('extracts/loan-moving-average/sql/branch_loans_3m.sql')).toContain('moving_avg_3m');
    expect(puts.find((c) => c.input.Key === 'extracts/loan-moving-average/sql/banks.sql')!.input.ContentType).toBe('application/sql; charset=utf-8');
  });

  it('uploads an extract found through EXTRACTS_PATH from its folder to extracts/<id>/, the keys its job reads', async () => {
    const before = process.env.EXTRACTS_PATH;
    process.env.EXTRACTS_PATH = 'test/fixtures/extracts';
    try {
      const cloudFormation = fakeClient({ Stacks: [{ Outputs: [{ OutputKey: 'ScriptsBucketName', OutputValue: 'scripts-bucket' }] }] });
      const s3 = fakeClient({});
      const { keys } = await new Plugin(fakeServerless(REPOSITORY_ROOT), {}, quiet).uploadAssets({ cloudFormation, s3 });
      expect(keys.filter((key) => key.startsWith('extracts/client-activity/'))).toEqual([
        'extracts/client-activity/extract.json',
        'extracts/client-activity/sql/rows.sql',
        'extracts/client-activity/sql/branches.sql',
      ]);
      const definition = putsOf(s3).find((c) => c.input.Key === 'extracts/client-activity/extract.json')!;
      expect(JSON.parse(String(definition.input.Body))).toMatchObject({ id: 'client-activity', schedule: { timeZone: 'Europe/London' } });
    } finally {
      if (before === undefined) delete process.env.EXTRACTS_PATH;
      else process.env.EXTRACTS_PATH = before;
    }
  });

  it("deletes, after uploading, every other key under extracts/: a removed extract's definition can no longer be started", async () => {
    const cloudFormation = fakeClient({ Stacks: [{ Outputs: [{ OutputKey: 'ScriptsBucketName', OutputValue: 'scripts-bucket' }] }] });
    const loanFiles = findExtract('loan-moving-average').files.map((file) => `extracts/loan-moving-average/${file}`);
    // Two pages: the loan extract's files (kept) and a removed extract's folder (deleted).
    const s3 = fakeS3([
      { Contents: [{ Key: 'extracts/client-activity/extract.json' }, ...loanFiles.map((Key) => ({ Key }))], IsTruncated: true, NextContinuationToken: 'page-2' },
      { Contents: [{ Key: 'extracts/client-activity/sql/rows.sql' }, { Key: 'extracts/loan-moving-average/sql/old.sql' }], IsTruncated: false },
    ]);
    const notices: string[] = [];
    const plugin = new Plugin(fakeServerless(REPOSITORY_ROOT), {}, { log: { notice: (line: string) => notices.push(line) } });

    const { deleted } = await plugin.uploadAssets({ cloudFormation, s3 });
    const stale = ['extracts/client-activity/extract.json', 'extracts/client-activity/sql/rows.sql', 'extracts/loan-moving-average/sql/old.sql'];
    expect(deleted).toEqual(stale);
    const commands = s3.send.mock.calls.map(([c]) => c);
    const names = commands.map((c) => c.constructor.name);
    // Listed and deleted only once every file is uploaded.
    expect(names.lastIndexOf('PutObjectCommand')).toBeLessThan(names.indexOf('ListObjectsV2Command'));
    expect(commands.filter((c) => c.constructor.name === 'ListObjectsV2Command').map((c) => c.input)).toEqual([
      { Bucket: 'scripts-bucket', Prefix: 'extracts/', ContinuationToken: undefined },
      { Bucket: 'scripts-bucket', Prefix: 'extracts/', ContinuationToken: 'page-2' },
    ]);
    expect(commands.filter((c) => c.constructor.name === 'DeleteObjectCommand').map((c) => c.input)).toEqual(stale.map((Key) => ({ Bucket: 'scripts-bucket', Key })));
    expect(notices.filter((line) => line.startsWith('Deleted '))).toEqual(stale.map((key) => `Deleted s3://scripts-bucket/${key}: no extract folder has it any more`));
  });

  it('refuses to upload when the stack reports no scripts bucket', async () => {
    const cloudFormation = fakeClient({ Stacks: [{ Outputs: [] }] });
    const s3 = fakeClient({});
    const plugin = new Plugin(fakeServerless(REPOSITORY_ROOT), {}, quiet);
    await expect(plugin.uploadAssets({ cloudFormation, s3 })).rejects.toThrow(
      'Stack monthly-loan-extract-prod has no ScriptsBucketName output, so the Glue job files were not uploaded',
    );
    expect(s3.send).not.toHaveBeenCalled();
  });

  it('fails packaging when a file the Glue job needs is missing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'glue-assets-'));
    try {
      await expect(new Plugin(fakeServerless(empty), {}, quiet).checkAssets()).rejects.toThrow(
        'The Glue jobs need glue/etl.py, glue/extract-layout.json, glue/rds-ca-bundle.pem, extracts/loan-moving-average/extract.json, ' +
          'extracts/loan-moving-average/sql/branch_loans_3m.sql, extracts/loan-moving-average/sql/banks.sql, ' +
          'extracts/loan-moving-average/sql/rejected_loans.sql, extracts/loan-moving-average/sql/read_window.sql, which are missing',
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
