/**
 * scripts/serverless-glue-assets.js, the osls plugin that uploads glue/ after `deploy`: it puts
 * exactly the files the Glue job names into the bucket the stack reports, and `package` fails
 * offline when one is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GLUE_EXTRA_FILES } from '../../local/glue-spark/spark-jobs';
import { REPOSITORY_ROOT } from './cloudformation';

interface SentCommand {
  constructor: { name: string };
  input: Record<string, unknown>;
}
interface GlueAssetsPlugin {
  hooks: Record<string, () => unknown>;
  uploadAssets(clients: { cloudFormation: FakeClient; s3: FakeClient }): Promise<{ bucket: string; keys: string[] }>;
  checkAssets(): void;
}
type FakeClient = { send: jest.Mock<Promise<unknown>, [SentCommand]> };

/** A client whose every send() answers `response`, recording the commands. */
const fakeClient = (response: unknown): FakeClient => ({ send: jest.fn(async (_command: SentCommand) => response) });

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
  it('runs after deploy, and checks the files when packaging', () => {
    const plugin = new Plugin(fakeServerless(REPOSITORY_ROOT), {}, quiet);
    expect(Object.keys(plugin.hooks).sort()).toEqual(['after:deploy:deploy', 'before:package:finalize']);
    expect(() => plugin.checkAssets()).not.toThrow();
  });

  it('uploads the script and every file the job takes with --extra-files to the stack\'s scripts bucket under glue/', async () => {
    const cloudFormation = fakeClient({ Stacks: [{ Outputs: [{ OutputKey: 'ScriptsBucketName', OutputValue: 'scripts-bucket' }] }] });
    const s3 = fakeClient({});
    const plugin = new Plugin(fakeServerless(REPOSITORY_ROOT), {}, quiet);

    await expect(plugin.uploadAssets({ cloudFormation, s3 })).resolves.toEqual({
      bucket: 'scripts-bucket',
      keys: ['glue/etl.py', ...GLUE_EXTRA_FILES.map((path) => relative(REPOSITORY_ROOT, path))],
    });
    const describe = cloudFormation.send.mock.calls[0]![0];
    expect([describe.constructor.name, describe.input]).toEqual(['DescribeStacksCommand', { StackName: 'monthly-loan-extract-prod' }]);
    const puts = s3.send.mock.calls.map(([command]) => command);
    expect(puts.map((c) => [c.constructor.name, c.input.Bucket, c.input.Key, c.input.ChecksumAlgorithm])).toEqual([
      ['PutObjectCommand', 'scripts-bucket', 'glue/etl.py', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/sql/branch_loans_3m.sql', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/sql/rejected_loans.sql', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/sql/read_window.sql', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/source-model.json', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/extract-layout.json', 'SHA256'],
      ['PutObjectCommand', 'scripts-bucket', 'glue/rds-ca-bundle.pem', 'SHA256'],
    ]);
    expect(String(puts[1]!.input.Body)).toContain('moving_avg_3m');
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
      expect(() => new Plugin(fakeServerless(empty), {}, quiet).checkAssets()).toThrow(
        'The Glue job needs glue/etl.py, glue/sql/branch_loans_3m.sql, glue/sql/rejected_loans.sql, glue/sql/read_window.sql, glue/source-model.json, glue/extract-layout.json, glue/rds-ca-bundle.pem, which are missing',
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
