/**
 * AWS's CloudFormation linter, cfn-lint, on the template `osls package` writes for every stage in
 * serverless.yml `params:` (and for prod with the second extract's folder, EXTRACTS_PATH), validated
 * against that stage's region (`--regions`, as osls resolved it).
 * Zero findings, errors and warnings alike: a warning is fixed in resources/*.yml, or ignored by rule
 * id in .cfnlintrc.yaml with its reason beside it (the one place ignores live).
 *
 * cfn-lint is Python: .ci/run installs it (cfn-lint==1.51.0) when it is not on PATH. Under CI=true a
 * missing cfn-lint fails this file; elsewhere the lint is skipped and the test's name says why.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import { REPOSITORY_ROOT, packageStack, type PackageOptions, type PackagedStack } from './cloudformation';

const CFN_LINT = 'cfn-lint';
const CONFIG_FILE = join(REPOSITORY_ROOT, '.cfnlintrc.yaml');
const INSTALL_HINT = 'python3 -m pip install cfn-lint==1.51.0 (what .ci/run does)';

/** Every stage serverless.yml defines: the keys of `params:` but `default`. */
const STAGES = Object.keys((load(readFileSync(join(REPOSITORY_ROOT, 'serverless.yml'), 'utf8')) as { params?: Record<string, unknown> }).params ?? {}).filter(
  (stage) => stage !== 'default',
);

/** What is linted: each stage, and prod with the fixture extracts (what a second extract adds to the stack). */
const TARGETS: Array<{ label: string; stage: string; options?: PackageOptions }> = [
  ...STAGES.map((stage) => ({ label: stage, stage })),
  { label: 'prod with test/fixtures/extracts', stage: 'prod', options: { extractsPath: 'test/fixtures/extracts', name: 'prod-fixture-extracts' } },
];

type Probe = { kind: 'found'; version: string } | { kind: 'missing' } | { kind: 'broken'; message: string };

function probeCfnLint(): Probe {
  try {
    const version = execFileSync(CFN_LINT, ['--version'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    return { kind: 'found', version };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return { kind: 'missing' };
    // On PATH but not working (a broken install, a pyenv shim without it): that is no reason to skip.
    return { kind: 'broken', message: `${CFN_LINT} --version failed: ${e.message}\n${e.stderr ?? ''}` };
  }
}

interface Finding {
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Start: { readonly LineNumber: number }; readonly Path?: ReadonlyArray<string | number> };
}

interface Lint {
  readonly region: string;
  readonly findings: Finding[];
}

/** `Warning W3005 Resources/ResolveRunLambdaFunction/DependsOn/1 (line 251): …`, one finding a line. */
function describeFinding(finding: Finding): string {
  const where = finding.Location.Path?.join('/') ?? '(template)';
  return `${finding.Level} ${finding.Rule.Id} ${where} (line ${finding.Location.Start.LineNumber}): ${finding.Message}`;
}

/** The region osls packaged the stage for (`provider.region`, from the stage's params). */
async function packagedRegion(stack: PackagedStack): Promise<string> {
  const state = JSON.parse(await readFile(join(stack.dir, 'serverless-state.json'), 'utf8')) as { service?: { provider?: { region?: unknown } } };
  const region = state.service?.provider?.region;
  if (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`the packaged stack names no region: ${String(region)}`);
  return region;
}

/**
 * cfn-lint's JSON findings for the packaged template. Its exit code is a bit mask (2 errors,
 * 4 warnings, 8 informational); 1, or output that is not a JSON list, means cfn-lint itself failed.
 */
async function lint(stack: PackagedStack, region: string, configFile: string): Promise<Finding[]> {
  const template = join(stack.dir, 'cloudformation-template-update-stack.json');
  const args = ['--config-file', configFile, '--regions', region, '--format', 'json', '--', template];
  let stdout: string;
  let code = 0;
  let stderr = '';
  try {
    ({ stdout, stderr } = await promisify(execFile)(CFN_LINT, args, { cwd: REPOSITORY_ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    const e = error as Error & { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number' || (e.code & 1) !== 0 || e.stdout === undefined) {
      throw new Error(`${CFN_LINT} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
    }
    ({ code } = e as { code: number });
    stdout = e.stdout;
    stderr = e.stderr ?? '';
  }
  let findings: unknown;
  try {
    findings = JSON.parse(stdout);
  } catch {
    throw new Error(`${CFN_LINT} ${args.join(' ')} (exit ${code}) printed no JSON:\n${stdout}\n${stderr}`);
  }
  if (!Array.isArray(findings)) throw new Error(`${CFN_LINT} ${args.join(' ')} printed ${stdout}, not a list of findings`);
  if (code !== 0 && findings.length === 0) throw new Error(`${CFN_LINT} ${args.join(' ')} exited ${code} with no findings:\n${stderr}`);
  return findings as Finding[];
}

/** The rule ids .cfnlintrc.yaml ignores, and the ones without a `# reason` above or beside them. */
function configuredIgnores(): { ignores: string[]; unexplained: string[] } {
  const text = readFileSync(CONFIG_FILE, 'utf8');
  const config = load(text) as { ignore_checks?: unknown } | null;
  const ignores = Array.isArray(config?.ignore_checks) ? (config.ignore_checks as unknown[]).map(String) : [];
  const lines = text.split('\n');
  const unexplained = ignores.filter((id) => {
    const at = lines.findIndex((line) => new RegExp(`^\\s*-\\s*['"]?${id}['"]?\\s*(#.*)?$`).test(line));
    if (at < 0) return true;
    return !/#\s*\S/.test(lines[at]!) && !/^\s*#\s*\S/.test(lines[at - 1] ?? '');
  });
  return { ignores, unexplained };
}

const probe = probeCfnLint();
const runInCi = process.env.CI === 'true';

it('finds the stages in serverless.yml params, and a .cfnlintrc.yaml whose every ignore is a rule id with its reason', () => {
  expect(STAGES.length).toBeGreaterThan(0);
  const { ignores, unexplained } = configuredIgnores();
  expect(ignores.filter((id) => !/^[EWI]\d{4}$/.test(id))).toEqual([]);
  expect(unexplained).toEqual([]);
});

if (probe.kind === 'missing' && !runInCi) {
  it.skip(`cfn-lint on the packaged stacks: SKIPPED, ${CFN_LINT} is not on PATH (install it: ${INSTALL_HINT}; under CI=true this fails)`, () => undefined);
} else if (probe.kind !== 'found') {
  it('cfn-lint is installed and runs (CI=true requires it)', () => {
    throw new Error(probe.kind === 'missing' ? `${CFN_LINT} is not on PATH; install it: ${INSTALL_HINT}` : probe.message);
  });
} else {
  describe(`${probe.version} on the template osls packages for every stage (${STAGES.join(', ')})`, () => {
    const stacks = new Map<string, PackagedStack>();
    const lints = new Map<string, Lint>();

    beforeAll(async () => {
      // No packaging cache exists (packageStack packages afresh each call): the stages in parallel.
      const packaged = await Promise.allSettled(TARGETS.map(async ({ label, stage, options }) => [label, await packageStack(stage, options)] as const));
      for (const result of packaged) if (result.status === 'fulfilled') stacks.set(...result.value);
      const failed = packaged.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
      await Promise.all(
        [...stacks].map(async ([stage, stack]) => {
          const region = await packagedRegion(stack);
          lints.set(stage, { region, findings: await lint(stack, region, CONFIG_FILE) });
        }),
      );
    }, 300_000);

    afterAll(async () => {
      await Promise.all([...stacks.values()].map((stack) => stack.remove()));
    });

    it.each(TARGETS.map((t) => t.label))('stage %s: no errors and no warnings (past .cfnlintrc.yaml), in the stage region', (stage) => {
      const result = lints.get(stage);
      if (!result) throw new Error(`stage ${stage} was not linted`);
      expect({ stage, region: result.region, findings: result.findings.map(describeFinding) }).toEqual({ stage, region: result.region, findings: [] });
    });

    it('ignores no rule in .cfnlintrc.yaml that no stage needs any more', async () => {
      const { ignores } = configuredIgnores();
      // The same lint with an empty config: which of the ignored rules still fire somewhere.
      const emptyConfig = join(stacks.values().next().value!.dir, 'empty.cfnlintrc.yaml');
      await writeFile(emptyConfig, '{}\n');
      const firing = new Set<string>();
      await Promise.all(
        [...stacks].map(async ([stage, stack]) => {
          for (const finding of await lint(stack, lints.get(stage)!.region, emptyConfig)) firing.add(finding.Rule.Id);
        }),
      );
      expect(ignores.filter((id) => !firing.has(id))).toEqual([]);
    }, 120_000);
  });
}
