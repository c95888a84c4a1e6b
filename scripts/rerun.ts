/**
 * `npm run rerun -- --stage prod [--extract <id>] --month 2024-03 [--force] [--region af-south-1]`:
 * re-runs an extract's month (default the loan extract) on AWS from a terminal, exactly as "Start
 * execution" in the console with {"extract": …, "month": …, "force": …} would, and prints the
 * execution's console link. The input is checked here first, with the same rules as the state
 * machine (functions/core/month.ts, in the extract's time zone as its definition in this checkout
 * says), so a bad month never reaches AWS.
 *
 * The state machine is found by its name, `monthly-loan-extract-<stage>` (serverless.yml), with
 * states:ListStateMachines in the stage's region: no account id or stack lookup needed. The region
 * and time zone are the stage's params in serverless.yml unless --region is given. AWS credentials
 * come from the usual places (AWS_PROFILE, environment, SSO).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { load } from 'js-yaml';
import { SFNClient, StartExecutionCommand, paginateListStateMachines } from '@aws-sdk/client-sfn';
import { InvalidInputError } from '../functions/core/errors';
import { DEFAULT_EXTRACT_ID, isExtractId } from '../functions/core/extract-id';
import { executionConsoleUrl } from '../functions/core/failure-message';
import { formatMonth, resolveExtractMonth } from '../functions/core/month';
import { findExtract } from '../extracts/folders';
import { STAGE_PATTERN } from './stage-target';

export const SERVICE = 'monthly-loan-extract';

/** The stage's run ledger table (resources/ledger.yml). */
export function ledgerTableName(stage: string): string {
  return `${SERVICE}-${stage}-run-ledger`;
}
const SERVERLESS_FILE = join(__dirname, '..', 'serverless.yml');

export interface RerunRequest {
  readonly stage: string;
  /** The extract's id. */
  readonly extract: string;
  /** `YYYY-MM`, validated. */
  readonly month: string;
  readonly force: boolean;
  /** Given with --region; otherwise the stage's region from serverless.yml. */
  readonly region?: string;
}

/** What a command takes from the stage's params: its region only (months are the extract's, below). */
export interface StageSettings {
  readonly region: string;
}

export interface RerunSettings extends StageSettings {
  /** The time zone months are resolved in: the extract's (its definition's schedule.timeZone), never the stage's. */
  readonly timeZone: string;
}

export interface StartedRerun {
  readonly stateMachineArn: string;
  readonly executionArn: string;
  readonly executionName: string;
  readonly input: { extract: string; month: string; force?: true };
  readonly consoleUrl: string;
}

/** Parses the command line; anything unknown or missing is an InvalidInput naming the flag. */
export function parseRerunArgs(argv: readonly string[]): RerunRequest {
  let values: { stage?: string; extract?: string; month?: string; force?: boolean; region?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        stage: { type: 'string' },
        extract: { type: 'string' },
        month: { type: 'string' },
        force: { type: 'boolean' },
        region: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new InvalidInputError('arguments', `${(error as Error).message}; usage: npm run rerun -- --stage prod [--extract <id>] --month 2024-03 [--force]`);
  }
  if (values.stage === undefined) throw new InvalidInputError('stage', 'is required, for example --stage prod');
  if (!STAGE_PATTERN.test(values.stage)) {
    throw new InvalidInputError('stage', `must be letters, digits and dashes (as given to osls deploy --stage), got "${values.stage}"`);
  }
  // Re-running is always for a named month; the schedule covers "the last complete month".
  if (values.month === undefined) throw new InvalidInputError('month', 'is required, for example --month 2024-03');
  const extract = values.extract ?? DEFAULT_EXTRACT_ID;
  if (!isExtractId(extract)) throw new InvalidInputError('extract', `must be an extract's id (the name of its folder, as in extracts/<id>/), got "${extract}"`);
  return { stage: values.stage, extract, month: values.month, force: values.force ?? false, region: values.region };
}

/** The stage's region: serverless.yml `params.<stage>`, else `params.default`. */
export function stageSettings(stage: string, serverlessYaml = readFileSync(SERVERLESS_FILE, 'utf8')): StageSettings {
  const params = (load(serverlessYaml) as { params?: Record<string, Record<string, unknown> | undefined> }).params ?? {};
  const pick = (name: string): string => {
    const value = params[stage]?.[name] ?? params.default?.[name];
    if (typeof value !== 'string' || value === '') throw new Error(`serverless.yml sets no params.${stage}.${name} or params.default.${name}`);
    return value;
  };
  return { region: pick('region') };
}

/** The execution input the state machine takes (contract section 4), for a month checked like ResolveRun does. */
export function rerunInput(request: RerunRequest, timeZone: string, now: Date): StartedRerun['input'] {
  const month = formatMonth(resolveExtractMonth(request.month, now, timeZone));
  const input = { extract: request.extract, month };
  return request.force ? { ...input, force: true } : input;
}

/** Finds the stage's state machine by name and starts an execution for the month. */
export async function startRerun(client: SFNClient, request: RerunRequest, settings: RerunSettings, now: Date, namePrefix = 'rerun'): Promise<StartedRerun> {
  const input = rerunInput(request, settings.timeZone, now);
  const region = request.region ?? settings.region;
  const name = `${SERVICE}-${request.stage}`;
  const stateMachineArn = await findStateMachine(client, name);
  if (!stateMachineArn) {
    throw new Error(`No state machine named ${name} in ${region}: is stage "${request.stage}" deployed there (npm run deploy -- --stage ${request.stage})?`);
  }
  // The name becomes the run id (staging prefix, ledger history): readable, and unique per start.
  const executionName = `${namePrefix}-${input.extract}-${input.month}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(input) }),
  );
  if (!executionArn) throw new Error(`Step Functions started ${executionName} but returned no execution ARN`);
  return { stateMachineArn, executionArn, executionName, input, consoleUrl: executionConsoleUrl(region, executionArn) };
}

async function findStateMachine(client: SFNClient, name: string): Promise<string | undefined> {
  for await (const page of paginateListStateMachines({ client }, {})) {
    const found = page.stateMachines?.find((machine) => machine.name === name);
    if (found?.stateMachineArn) return found.stateMachineArn;
  }
  return undefined;
}

async function main(): Promise<void> {
  const request = parseRerunArgs(process.argv.slice(2));
  // The extract's definition as in this checkout (deployed from it): an unknown id is refused here.
  const settings = { ...stageSettings(request.stage), timeZone: findExtract(request.extract).definition.schedule.timeZone };
  const region = request.region ?? settings.region;
  const started = await startRerun(new SFNClient({ region }), request, settings, new Date());
  console.log(`Started ${started.executionName} with input ${JSON.stringify(started.input)}`);
  console.log(`  state machine: ${started.stateMachineArn}`);
  console.log(`  execution:     ${started.executionArn}`);
  console.log(`  console:       ${started.consoleUrl}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    // As Step Functions would show it: the error's name, then its cause.
    console.error(`✖ ${e.name}: ${e.message}`);
    process.exitCode = e.name === 'InvalidInput' ? 2 : 1;
  });
}
