/**
 * The PostgreSQL the benchmark generates its sources in: the one given (--source, else
 * TEST_POSTGRES_URL), or Debian's started by scripts/test-postgres.sh in its own folder and port,
 * apart from the tests' server, and stopped at the end.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { withClient } from '../local/postgres';

export const BENCH_PG_DIR = process.env.BENCH_PG_DIR ?? '/tmp/loan-extract-bench-pg';
export const BENCH_PG_PORT = Number(process.env.BENCH_PG_PORT ?? 54339);

export interface BenchServer {
  /** postgres:// URL of a database to connect to for CREATE DATABASE. */
  readonly adminUrl: string;
  readonly port: number;
  /** Whether the benchmark started it (and so stops it). */
  readonly started: boolean;
  stop(): void;
}

export interface ServerSettings {
  readonly version: string;
  readonly settings: Readonly<Record<string, string>>;
}

export function benchServer(repoRoot: string, given: string | undefined): BenchServer {
  if (given) {
    return { adminUrl: given, port: Number(new URL(given).port || 5432), started: false, stop: () => undefined };
  }
  const script = join(repoRoot, 'scripts', 'test-postgres.sh');
  const env = { ...process.env, TEST_PG_DIR: BENCH_PG_DIR, TEST_PG_PORT: String(BENCH_PG_PORT) };
  const started = spawnSync(script, ['start'], { env, encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`scripts/test-postgres.sh start failed: ${started.stderr || started.stdout}`);
  const adminUrl = started.stdout.trim().split('\n').pop()!;
  return {
    adminUrl,
    port: BENCH_PG_PORT,
    started: true,
    stop: () => {
      spawnSync(script, ['stop'], { env, stdio: 'ignore' });
    },
  };
}

const REPORTED_SETTINGS = [
  'shared_buffers',
  'work_mem',
  'effective_cache_size',
  'max_parallel_workers_per_gather',
  'jit',
  'random_page_cost',
];

export async function serverSettings(adminUrl: string): Promise<ServerSettings> {
  return withClient(adminUrl, async (client) => {
    const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    const { rows } = await client.query<{ name: string; setting: string }>(
      'SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1) ORDER BY name',
      [REPORTED_SETTINGS],
    );
    return { version, settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])) };
  });
}
