/**
 * The PostgreSQL servers a test can run against: always the embedded PGlite, and a real server when
 * TEST_POSTGRES_URL names one (.ci/run starts Debian's PostgreSQL and sets it). In CI the real server
 * is required, so a broken install cannot turn into silently skipped tests.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmbeddedOds } from '../../local/ods';
import { withClient } from '../../local/postgres';
import { createOdsSchema } from '../../local/sample/generate';

export interface TestDatabase {
  readonly label: string;
  readonly url: string;
  drop(): Promise<void>;
}

export type DatabaseFactory = () => Promise<TestDatabase>;

export const embeddedDatabase: DatabaseFactory = async () => {
  const ods = await startEmbeddedOds();
  return { label: 'PGlite', url: ods.url, drop: ods.stop };
};

/** A fresh database on the real server, dropped afterwards. */
export const realServerDatabase: DatabaseFactory = async () => {
  const adminUrl = realPostgresUrl();
  if (!adminUrl) throw new Error('TEST_POSTGRES_URL is not set');
  const name = `extract_test_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    label: 'PostgreSQL server',
    url: url.toString(),
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE ${name} WITH (FORCE)`)).then(() => undefined),
  };
};

export function realPostgresUrl(): string | undefined {
  const url = process.env.TEST_POSTGRES_URL;
  if (!url && process.env.CI === 'true') {
    throw new Error('CI=true but TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL');
  }
  return url || undefined;
}

/** The databases every engine test runs on: PGlite always, the real server when there is one. */
export function testDatabases(): [string, DatabaseFactory][] {
  const databases: [string, DatabaseFactory][] = [['PGlite', embeddedDatabase]];
  if (realPostgresUrl()) databases.push(['PostgreSQL server', realServerDatabase]);
  return databases;
}

/** Creates the ODS schema in `url`'s database and loads a hand-built fixture of test/fixtures/ into it. */
export async function loadFixtureOds(url: string, fixture: 'oracle-ods.sql' | 'adversarial-ods.sql' | 'client-activity-ods.sql'): Promise<void> {
  const sql = await readFile(join(__dirname, '..', 'fixtures', fixture), 'utf8');
  await withClient(url, async (client) => {
    await createOdsSchema(client);
    await client.query(sql);
  });
}
