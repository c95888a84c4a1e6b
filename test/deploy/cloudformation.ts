/**
 * Packages the service with the real `osls package` (offline: no AWS account, no login), and reads
 * the CloudFormation template it would deploy. Helpers to walk the template: resources by type,
 * every IAM statement wherever it sits, every reference.
 *
 * The package runs in a copy of the service in a temporary directory (node_modules linked): osls
 * and serverless-esbuild write `.serverless/` and `.esbuild/` into the service directory, so two
 * packages in one checkout (two test files, or a developer's `npm run package`) would trip on each
 * other, and the tests would leave files in the repository.
 */
import { execFile } from 'node:child_process';
import { access, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';

export const REPOSITORY_ROOT = join(__dirname, '..', '..');

export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Condition?: string;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
}

export interface Template {
  readonly Transform?: string | string[];
  readonly Parameters?: Record<string, { Type: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { Value: unknown; Condition?: string }>;
}

/** What `osls package` reads: the service definition, the handlers, the extract folders, the Glue files the plugin checks, the SQL check (local/extract-check.ts). */
const SERVICE_FILES = ['serverless.yml', 'resources', 'statemachines', 'functions', 'extracts', 'glue', 'scripts', 'local', 'package.json', 'package-lock.json', 'tsconfig.json'];

export interface PackageOptions {
  /**
   * EXTRACTS_PATH for the package (extract folders besides extracts/): a folder of the repository
   * (copied into the service at the same path) or an absolute path outside it.
   */
  readonly extractsPath?: string;
  /** Names the package among the shared ones (default: the stage); one per stage and extracts path. */
  readonly name?: string;
}

export interface PackagedStack {
  /** The `--package` directory: the templates and one zip per function. */
  readonly dir: string;
  readonly template: Template;
  readonly remove: () => Promise<void>;
}

/**
 * The stage's package. Under Jest's global setup (test/support/packaged-stacks.js) each stage is
 * packaged once per test run, by whichever test file asks first, and shared by the others; a test
 * file run on its own packages into a directory of its own.
 */
export async function packageStack(stage: string, options: PackageOptions = {}): Promise<PackagedStack> {
  const shared = process.env.PACKAGED_STACKS_DIR;
  const name = options.name ?? stage;
  if (!shared) {
    const root = await mkdtemp(join(tmpdir(), `loan-extract-${name}-`));
    const remove = () => rm(root, { recursive: true, force: true });
    try {
      return { ...(await packageInto(stage, root, options)), remove };
    } catch (error) {
      await remove();
      throw error;
    }
  }
  const root = join(shared, name);
  const outcome = join(shared, `${name}.outcome`);
  let mine = true;
  try {
    await mkdir(root);
  } catch {
    mine = false;
  }
  if (mine) {
    try {
      await packageInto(stage, root, options);
      await writeFile(outcome, 'ok');
    } catch (error) {
      await writeFile(outcome, (error as Error).message);
      throw error;
    }
  } else {
    // Another test file is packaging this stage: wait for its outcome (osls takes well under 2 minutes).
    for (let waited = 0; !(await exists(outcome)); waited += 200) {
      if (waited > 180_000) throw new Error(`waited 3 minutes for another test file to package stage ${stage}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await readFile(outcome, 'utf8');
    if (result !== 'ok') throw new Error(result);
  }
  const dir = join(root, 'package');
  const template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  // Shared with other test files; the global teardown removes it.
  return { dir, template, remove: async () => undefined };
}

async function packageInto(stage: string, root: string, options: PackageOptions): Promise<Omit<PackagedStack, 'remove'>> {
  const service = join(root, 'service');
  const dir = join(root, 'package');
  const home = join(root, 'home');
  // Nothing from a developer's AWS setup may be needed, or used, to package.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, CI: 'true', SLS_TELEMETRY_DISABLED: '1', AWS_SDK_LOAD_CONFIG: '0' };
  const extraFolders: string[] = [];
  if (options.extractsPath !== undefined) {
    env.EXTRACTS_PATH = options.extractsPath;
    if (!isAbsolute(options.extractsPath)) extraFolders.push(options.extractsPath);
  }
  try {
    await Promise.all([mkdir(service), mkdir(home)]);
    await Promise.all([...SERVICE_FILES, ...extraFolders].map((name) => cp(join(REPOSITORY_ROOT, name), join(service, name), { recursive: true })));
    await symlink(join(REPOSITORY_ROOT, 'node_modules'), join(service, 'node_modules'), 'dir');
    await promisify(execFile)(join(REPOSITORY_ROOT, 'node_modules', '.bin', 'osls'), ['package', '--stage', stage, '--package', dir], {
      cwd: service,
      env,
      timeout: 110_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`osls package --stage ${stage}${options.extractsPath ? ` (EXTRACTS_PATH=${options.extractsPath})` : ''} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  return { dir, template };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `Fn::GetAtt` of a resource, as the template writes it. */
export const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** `Ref` of a resource or parameter, as the template writes it. */
export const ref = (logicalId: string) => ({ Ref: logicalId });

export function resourcesOfType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export function resource(template: Template, logicalId: string, type: string): Resource & { Properties: Record<string, unknown> } {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`the template has no resource ${logicalId}`);
  if (found.Type !== type) throw new Error(`${logicalId} is a ${found.Type}, not a ${type}`);
  return found as Resource & { Properties: Record<string, unknown> };
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export interface LocatedStatement {
  /** `<logical id> <where>`, for messages. */
  readonly where: string;
  readonly resourceType: string;
  readonly statement: Statement;
}

/** Policy documents by resource type, except trust policies (who may assume a role). */
const POLICY_DOCUMENTS: Record<string, (properties: Record<string, unknown>) => Array<[string, unknown]>> = {
  'AWS::IAM::Role': (p) => ((p.Policies as Array<{ PolicyName: string; PolicyDocument: unknown }> | undefined) ?? []).map((policy) => [`policy ${policy.PolicyName}`, policy.PolicyDocument]),
  'AWS::IAM::Policy': (p) => [['policy', p.PolicyDocument]],
  'AWS::IAM::ManagedPolicy': (p) => [['managed policy', p.PolicyDocument]],
  'AWS::KMS::Key': (p) => [['key policy', p.KeyPolicy]],
  'AWS::S3::BucketPolicy': (p) => [['bucket policy', p.PolicyDocument]],
  'AWS::SNS::TopicPolicy': (p) => [['topic policy', p.PolicyDocument]],
  'AWS::SQS::QueuePolicy': (p) => [['queue policy', p.PolicyDocument]],
};

export function policyStatements(template: Template): LocatedStatement[] {
  const found: LocatedStatement[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    const documents = POLICY_DOCUMENTS[r.Type];
    if (!documents) continue;
    for (const [where, document] of documents(r.Properties ?? {})) {
      const statements = (document as { Statement?: Statement | Statement[] } | undefined)?.Statement ?? [];
      for (const statement of Array.isArray(statements) ? statements : [statements]) {
        found.push({ where: `${logicalId} ${where}${statement.Sid ? ` ${statement.Sid}` : ''}`, resourceType: r.Type, statement });
      }
    }
  }
  return found;
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Every value in the template, with its path, depth first. */
export function* walk(value: unknown, path = '$'): Generator<[string, unknown]> {
  yield [path, value];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* walk(item, `${path}[${i}]`);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) yield* walk(item, `${path}.${key}`);
  }
}

/** Names an intrinsic refers to: Ref, Fn::GetAtt, and the ${Name} / ${Name.Attr} of Fn::Sub (not its own variables). */
export function referencedNames(template: Template): Array<{ path: string; name: string }> {
  const names: Array<{ path: string; name: string }> = [];
  for (const [path, value] of walk(template.Resources, '$.Resources')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const node = value as Record<string, unknown>;
    if (typeof node.Ref === 'string') names.push({ path, name: node.Ref });
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') names.push({ path, name: getAtt[0] });
    const sub = node['Fn::Sub'];
    if (sub !== undefined) {
      const [text, variables] = Array.isArray(sub) ? [sub[0] as string, (sub[1] ?? {}) as Record<string, unknown>] : [sub as string, {}];
      for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
        const name = match[1]!.split('.')[0]!;
        if (!(name in variables)) names.push({ path, name });
      }
    }
  }
  return names;
}
