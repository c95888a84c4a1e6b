/**
 * 1,100 banks through `npm start` against a real PostgreSQL: more than 1,000 objects under the
 * month's staging and published prefixes (S3 lists 1,000 keys a page), every plain file checked
 * against the manifest, and a forced re-publish whose new file has the same size as the old one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPublishedMonth } from '../../local/pipeline/published-month';
import { withClient } from '../../local/postgres';
import { createOdsSchema } from '../../local/sample/generate';
import { realPostgresUrl, realServerDatabase, type TestDatabase } from '../support/databases';
import { cliReport, runExtractCli } from '../support/local-cli';

const BANKS = 1100;
const describeServer = realPostgresUrl() ? describe : describe.skip;

describeServer('a month of 1,100 banks, published locally', () => {
  let database: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    database = await realServerDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'extract-many-banks-'));
    await withClient(database.url, async (client) => {
      await createOdsSchema(client);
      // Bank n (named "Bank 0001"…): one branch n, one client and account n, one loan of n in June 2024.
      await client.query(`
        INSERT INTO bank SELECT n, 'Bank ' || lpad(n::text, 4, '0'), 1 FROM generate_series(1, ${BANKS}) n;
        INSERT INTO branch SELECT n, n, 'Road ' || lpad(n::text, 4, '0') FROM generate_series(1, ${BANKS}) n;
        INSERT INTO client SELECT n, 'c', 's', n FROM generate_series(1, ${BANKS}) n;
        INSERT INTO account SELECT n, 0, n, DATE '2020-01-01' FROM generate_series(1, ${BANKS}) n;
        INSERT INTO loans SELECT n, n, n, DATE '2024-06-15' FROM generate_series(1, ${BANKS}) n;`);
    });
  }, 120_000);

  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  it('publishes one file per bank, each plain file matching the manifest; a same-size change is re-published', async () => {
    const args = ['--source', database.url, '--month', '2024-06'];
    const first = cliReport(await runExtractCli(args, dataDir, 280_000));
    expect(first.outcome).toBe('succeeded');
    expect(first.files).toHaveLength(BANKS);

    const root = join(dataDir, 's3', 'monthly-loan-extract-local-extracts');
    const before = (await readPublishedMonth(root, '2024-06'))!;
    expect(before.files).toHaveLength(BANKS);
    expect(before.files.filter((f) => !f.matchesManifest)).toEqual([]);

    // Same length, other bytes: a copy that kept the old ETag, or a mirror that compared sizes, would keep the old file.
    await withClient(database.url, (client) => client.query("UPDATE branch SET address = 'Lane 0007' WHERE idbranch = 7"));
    const forced = cliReport(await runExtractCli([...args, '--force'], dataDir, 280_000));
    expect(forced.outcome).toBe('succeeded');
    const after = (await readPublishedMonth(root, '2024-06'))!;
    expect(after.files.filter((f) => !f.matchesManifest)).toEqual([]);
    const changed = after.files.filter((f) => f.sha256 !== before.files.find((b) => b.key === f.key)!.sha256);
    expect(changed.map((f) => [f.key, f.bytes])).toEqual([
      [expect.stringContaining('/Bank0007_20240630.csv'), before.files.find((f) => f.key.endsWith('/Bank0007_20240630.csv'))!.bytes],
    ]);
  }, 600_000);
});
