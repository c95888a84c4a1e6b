/**
 * What the local runner takes from serverless.yml: each function's handler, timeout and the names
 * of the environment variables it gets on AWS. Reading the deploy file (rather than a second list)
 * keeps the local run and the deployed stack on the same functions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

export const REPOSITORY_ROOT = join(__dirname, '..', '..');

export interface FunctionConfig {
  /** Key under `functions:`, as the state machine names it in `Fn::GetAtt: [key, Arn]`. */
  readonly key: string;
  /** Module path relative to the repository root, without extension (`functions/resolve-run`). */
  readonly modulePath: string;
  /** Exported name of the handler in that module. */
  readonly exportName: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Names of the environment variables the function gets when deployed. */
  readonly environment: readonly string[];
}

interface ServerlessFile {
  params?: Record<string, Record<string, unknown> | undefined>;
  provider?: { timeout?: unknown; memorySize?: unknown; environment?: Record<string, unknown> };
  functions?: Record<string, { handler?: unknown; timeout?: unknown; memorySize?: unknown; environment?: Record<string, unknown> }>;
}

/** The Serverless Framework's defaults, when neither function nor provider sets them. */
const SERVERLESS_DEFAULT_TIMEOUT_SECONDS = 6;
const SERVERLESS_DEFAULT_MEMORY_MB = 1024;

export function readServerlessFunctions(path = join(REPOSITORY_ROOT, 'serverless.yml')): Map<string, FunctionConfig> {
  // serverless.yml keeps to plain YAML (long-form `Fn::` intrinsics), so it reads without a CloudFormation schema.
  const file = load(readFileSync(path, 'utf8')) as ServerlessFile;
  const functions = new Map<string, FunctionConfig>();
  for (const [key, fn] of Object.entries(file.functions ?? {})) {
    const match = typeof fn.handler === 'string' ? /^(.+)\.([A-Za-z_$][\w$]*)$/.exec(fn.handler) : null;
    if (!match) throw new Error(`${path}: functions.${key}.handler must look like "functions/name.export", got ${JSON.stringify(fn.handler)}`);
    const timeout = fn.timeout ?? file.provider?.timeout ?? SERVERLESS_DEFAULT_TIMEOUT_SECONDS;
    functions.set(key, {
      key,
      modulePath: match[1]!,
      exportName: match[2]!,
      timeoutSeconds: typeof timeout === 'number' ? timeout : Number(timeout),
      memoryMb: Number(fn.memorySize ?? file.provider?.memorySize ?? SERVERLESS_DEFAULT_MEMORY_MB),
      environment: [...Object.keys(file.provider?.environment ?? {}), ...Object.keys(fn.environment ?? {})],
    });
  }
  if (functions.size === 0) throw new Error(`${path} declares no functions`);
  return functions;
}

/** A stage setting as every stage has it unless it sets its own: `params.default.<name>` in serverless.yml. */
export function readDefaultParam(name: string, path = join(REPOSITORY_ROOT, 'serverless.yml')): string {
  const file = load(readFileSync(path, 'utf8')) as ServerlessFile;
  const value = file.params?.default?.[name];
  if (typeof value !== 'string' || value === '') throw new Error(`${path}: params.default.${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

/** A stage's `params:` (its own over `default`), as serverless.yml writes them: the local run takes dev's. */
export function readServerlessParams(stage: string, path = join(REPOSITORY_ROOT, 'serverless.yml')): Record<string, unknown> {
  const file = load(readFileSync(path, 'utf8')) as ServerlessFile;
  if (!file.params?.[stage]) throw new Error(`${path} has no params for stage ${stage}`);
  return { ...file.params.default, ...file.params[stage] };
}
