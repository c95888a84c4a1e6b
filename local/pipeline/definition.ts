/**
 * The production state machine definition, made runnable locally: each Task's
 * `Fn::GetAtt: [functionKey, Arn]` becomes the ARN that function would have, and the runner learns
 * which function each Task state invokes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import type { FunctionConfig } from './serverless-config';
import { REPOSITORY_ROOT } from './serverless-config';

export const DEFINITION_PATH = join(REPOSITORY_ROOT, 'statemachines', 'monthly-extract.asl.yaml');

type State = Record<string, unknown> & { Type: string };

export interface LocalDefinition {
  /** The ASL with ARNs in place of the deploy-time references. */
  readonly definition: { StartAt: string; States: Record<string, State> } & Record<string, unknown>;
  /** Task state name → function key in serverless.yml. */
  readonly taskFunctions: ReadonlyMap<string, string>;
  /** Names of the Wait states (the runner shortens them). */
  readonly waitStates: readonly string[];
}

export function loadLocalDefinition(
  functions: ReadonlyMap<string, FunctionConfig>,
  functionArn: (key: string) => string,
  path = DEFINITION_PATH,
): LocalDefinition {
  const definition = load(readFileSync(path, 'utf8')) as LocalDefinition['definition'];
  const taskFunctions = new Map<string, string>();
  const waitStates: string[] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Wait') waitStates.push(name);
    if (state.Type !== 'Task') continue;
    const key = functionKeyOf(state.Resource);
    if (!key) throw new Error(`${path}: state ${name} must name its Lambda as Fn::GetAtt: [functionKey, Arn], got ${JSON.stringify(state.Resource)}`);
    if (!functions.has(key)) throw new Error(`${path}: state ${name} invokes "${key}", which serverless.yml does not declare under functions:`);
    taskFunctions.set(name, key);
    state.Resource = functionArn(key);
  }
  return { definition, taskFunctions, waitStates };
}

/** A Task state's work, given its state name and the function key it invokes. */
export type TaskInvoker = (state: string, functionKey: string, payload: unknown) => Promise<unknown>;

/** The aws-local-stepfunctions overrides that run `local`: every Task through `invoke`, every Wait and retry pause shortened. */
export function localOverrides(local: LocalDefinition, invoke: TaskInvoker, pauses: { waitMs: number; retryIntervalMs: number }) {
  return {
    taskResourceLocalHandlers: Object.fromEntries(
      [...local.taskFunctions].map(([state, key]) => [state, (payload: unknown) => invoke(state, key, payload) as Promise<never>]),
    ),
    waitTimeOverrides: Object.fromEntries(local.waitStates.map((state) => [state, pauses.waitMs])),
    retryIntervalOverrides: Object.fromEntries([...local.taskFunctions.keys()].map((state) => [state, pauses.retryIntervalMs])),
  };
}

function functionKeyOf(resource: unknown): string | undefined {
  const getAtt = (resource as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
  return Array.isArray(getAtt) && getAtt.length === 2 && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
}
