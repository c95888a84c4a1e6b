/**
 * The local runner takes the functions from serverless.yml and the definition from statemachines/:
 * it must give every handler the environment the deployed function gets, and refuse a definition
 * or a serverless.yml it cannot map, saying what is wrong.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLocalDefinition } from '../../local/pipeline/definition';
import { lambdaEnvironment } from '../../local/pipeline/local-stack';
import { readServerlessFunctions, REPOSITORY_ROOT } from '../../local/pipeline/serverless-config';

const endpoint = { url: 'http://127.0.0.1:1', close: async () => undefined };
const arn = (key: string) => `arn:aws:lambda:af-south-1:000000000000:function:${key}`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the local runner and serverless.yml', () => {
  it('gives each handler every environment variable its deployed function gets', () => {
    const local = lambdaEnvironment({ extractIds: ['loan-moving-average'] }, { s3: endpoint, dynamo: endpoint, glue: endpoint, sns: endpoint });
    for (const fn of readServerlessFunctions().values()) {
      expect({ [fn.key]: fn.environment.filter((name) => !(name in local)) }).toEqual({ [fn.key]: [] });
    }
  });

  it("points the handlers at the scripts bucket stand-in for the extracts' definitions, and names the stack's extract and its Glue jobs' prefix", () => {
    const local = lambdaEnvironment({ extractIds: ['client-activity'] }, { s3: endpoint, dynamo: endpoint, glue: endpoint, sns: endpoint });
    expect(local).toMatchObject({
      EXTRACT_DEFINITIONS_BUCKET: 'monthly-loan-extract-local-scripts',
      EXTRACT_IDS: 'client-activity',
      GLUE_JOB_NAME_PREFIX: 'monthly-loan-extract-local-',
    });
  });

  it('deploys each function with every variable its handler requires (AWS_REGION is set by Lambda)', () => {
    for (const fn of readServerlessFunctions().values()) {
      const source = readFileSync(join(REPOSITORY_ROOT, `${fn.modulePath}.ts`), 'utf8');
      const required = [...source.matchAll(/get(?:String|Integer)FromEnv\('([A-Z0-9_]+)'\)/g)].map((m) => m[1]!);
      expect({ [fn.key]: required.filter((name) => name !== 'AWS_REGION' && !fn.environment.includes(name)) }).toEqual({ [fn.key]: [] });
    }
  });

  it('maps every Task state of the definition to a declared function', () => {
    const { taskFunctions, waitStates } = loadLocalDefinition(readServerlessFunctions(), arn);
    expect(taskFunctions.get('PublishExtracts')).toBe('publishExtracts');
    expect(taskFunctions.size).toBe(8);
    expect(waitStates).toEqual(['WaitForCrawler', 'WaitForExtractJob']);
  });

  it('refuses a Task naming a function serverless.yml does not declare', async () => {
    const path = join(dir, 'machine.yaml');
    await writeFile(path, 'StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource:\n      Fn::GetAtt: [noSuchFunction, Arn]\n    End: true\n');
    expect(() => loadLocalDefinition(readServerlessFunctions(), arn, path)).toThrow('state A invokes "noSuchFunction", which serverless.yml does not declare under functions:');
  });

  it('refuses a Task whose Resource is not a function reference', async () => {
    const path = join(dir, 'literal.yaml');
    await writeFile(path, 'StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: arn:aws:lambda:af-south-1:1:function:x\n    End: true\n');
    expect(() => loadLocalDefinition(readServerlessFunctions(), arn, path)).toThrow('state A must name its Lambda as Fn::GetAtt: [functionKey, Arn]');
  });

  it('refuses a handler that is not "path.export"', async () => {
    const path = join(dir, 'serverless.yml');
    await writeFile(path, 'functions:\n  broken:\n    handler: functions/resolve-run\n');
    expect(() => readServerlessFunctions(path)).toThrow('functions.broken.handler must look like "functions/name.export", got "functions/resolve-run"');
  });
});
