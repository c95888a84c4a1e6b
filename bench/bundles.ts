/**
 * The Lambda bundles as `osls package` builds them: each function's zip size, and the cold import
 * time of its handler (a fresh `node` requiring the bundled handler file, as Lambda's init does).
 *
 * Packaging runs in a copy of the repository (node_modules linked, not copied),
 * so that the benchmark never writes .esbuild/ or .serverless/ in a working tree someone is using.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { median } from './stats';
import { runChild, tail } from './child';

export interface BundleMeasure {
  readonly function: string;
  readonly handler: string;
  readonly zip: string;
  readonly zipBytes: number;
  /** Median over `importRuns` fresh processes; undefined when the import failed. */
  readonly coldImportMs?: number;
  readonly importError?: string;
}

export type BundlesOutcome =
  | { readonly ok: true; readonly packageMs: number; readonly individually: boolean; readonly bundles: readonly BundleMeasure[] }
  | { readonly ok: false; readonly error: string };

/** Left out of the packaging copy: dependencies (linked instead), VCS, build and local run output. */
const NOT_COPIED = new Set(['node_modules', '.git', '.local', '.scratch', '.serverless', '.esbuild', 'coverage', 'bench']);

/**
 * Placeholders for the configuration handlers read at import (getStringFromEnv fails on a missing one):
 * these where the value's form matters; any other variable a function declares by a CloudFormation
 * reference gets `bench-<name>` (environmentOf), so a new variable cannot fail the import here alone.
 */
const PLACEHOLDER_ENV: Record<string, string> = {
  AWS_REGION: 'af-south-1',
  STAGE: 'prod',
  STAGE_TIME_ZONE: 'Africa/Johannesburg',
  RUN_LEDGER_TABLE: 'bench-run-ledger',
  RUN_LEASE_MINUTES: '360',
  ALERT_TOPIC_ARN: 'arn:aws:sns:af-south-1:000000000000:bench-alerts',
  GLUE_CRAWLER_NAME: 'bench-crawler',
  GLUE_JOB_NAME: 'bench-job',
  EXTRACT_BUCKET: 'bench-bucket',
  STATE_MACHINE_ARN: 'arn:aws:states:af-south-1:000000000000:stateMachine:bench',
};

export async function measureBundles(repoRoot: string, workDir: string, importRuns: number, log: (line: string) => void): Promise<BundlesOutcome> {
  const root = await mkdtemp(join(workDir, 'package-'));
  const service = join(root, 'service');
  const out = join(root, 'out');
  await mkdir(service);
  for (const entry of await readdir(repoRoot)) {
    if (!NOT_COPIED.has(entry)) await cp(join(repoRoot, entry), join(service, entry), { recursive: true });
  }
  await symlink(join(repoRoot, 'node_modules'), join(service, 'node_modules'), 'dir');

  const started = performance.now();
  const packaged = await runChild(join(repoRoot, 'node_modules', '.bin', 'osls'), ['package', '--stage', 'prod', '--package', out], {
    cwd: service,
    env: { CI: 'true', SLS_TELEMETRY_DISABLED: '1' },
    timeoutMs: 10 * 60_000,
  });
  const packageMs = performance.now() - started;
  if (packaged.exitCode !== 0) {
    return { ok: false, error: `osls package exited with ${packaged.exitCode ?? packaged.signal}: ${tail(packaged.stdout + packaged.stderr, 14)}` };
  }

  const state = JSON.parse(await readFile(join(out, 'serverless-state.json'), 'utf8')) as ServerlessState;
  const functions = Object.entries(state.service.functions ?? {});
  const serviceZip = state.package?.artifact ?? `${state.service.service}.zip`;
  const individually = functions.some(([, f]) => f.package?.artifact !== undefined);
  const unzipped = new Map<string, string>();
  const bundles: BundleMeasure[] = [];
  for (const [name, fn] of functions) {
    const zipName = fn.package?.artifact ?? serviceZip;
    const zip = resolve(out, zipName.split('/').pop()!);
    const zipBytes = (await stat(zip)).size;
    let dir = unzipped.get(zip);
    if (!dir) {
      dir = join(root, `unzipped-${unzipped.size}`);
      await extractZip(zip, dir);
      unzipped.set(zip, dir);
    }
    const env = { ...PLACEHOLDER_ENV, ...environmentOf(state.service.provider?.environment), ...environmentOf(fn.environment) };
    const imported = await coldImport(dir, fn.handler, env, importRuns);
    log(`    ${name}: ${(zipBytes / 1024).toFixed(0)} KiB zipped, cold import ${imported.ms === undefined ? imported.error : `${imported.ms.toFixed(0)} ms`}`);
    bundles.push({
      function: name,
      handler: fn.handler,
      zip: zipName.split('/').pop()!,
      zipBytes,
      ...(imported.ms !== undefined ? { coldImportMs: imported.ms } : { importError: imported.error }),
    });
  }
  await rm(root, { recursive: true, force: true });
  return { ok: true, packageMs, individually, bundles };
}

interface ServerlessFunction {
  readonly handler: string;
  readonly environment?: Record<string, unknown>;
  readonly package?: { readonly artifact?: string };
}

interface ServerlessState {
  readonly service: {
    readonly service: string;
    readonly provider?: { readonly environment?: Record<string, unknown> };
    readonly functions?: Record<string, ServerlessFunction>;
  };
  readonly package?: { readonly artifact?: string };
}

/** The literal values as they are; a CloudFormation reference (an object) as its placeholder. */
function environmentOf(env: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env ?? {}).map(([name, value]) => [name, typeof value === 'string' ? value : (PLACEHOLDER_ENV[name] ?? `bench-${name.toLowerCase()}`)]),
  );
}

/** Times `require(handler file)` in `runs` fresh processes; checks the handler is exported. */
async function coldImport(dir: string, handler: string, env: Record<string, string>, runs: number): Promise<{ ms?: number; error?: string }> {
  const dot = handler.lastIndexOf('.');
  const base = join(dir, handler.slice(0, dot));
  const exportName = handler.slice(dot + 1);
  const file = ['.js', '.cjs', '.mjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (!file) return { error: `no ${handler.slice(0, dot)}.js in the bundle` };
  const script = `const t = process.hrtime.bigint();
const m = require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - t) / 1e6;
if (typeof m[process.argv[2]] !== 'function') throw new Error('the bundle does not export ' + process.argv[2]);
process.stdout.write(String(ms));`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const child = await runChild(process.execPath, ['-e', script, file, exportName], {
      cwd: dir,
      env: { ...env, NODE_OPTIONS: '' },
      timeoutMs: 60_000,
      probe: false,
    });
    if (child.exitCode !== 0) return { error: tail(child.stderr, 3) };
    times.push(Number(child.stdout));
  }
  return { ms: median(times)! };
}

/** unzip if installed, else python3's zipfile. */
async function extractZip(zip: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const hasUnzip = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0;
  const result = hasUnzip
    ? spawnSync('unzip', ['-q', '-o', zip, '-d', dir], { encoding: 'utf8' })
    : spawnSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zip, dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`could not unzip ${zip}: ${result.stderr}`);
  if ((await readdir(dir)).length === 0) throw new Error(`${zip} is empty`);
}
