/**
 * Runs statemachines/monthly-extract.asl.yaml in aws-local-stepfunctions (as `npm start` does)
 * over handlers given per Task state, with waits and retry pauses at zero, and reports the path of
 * states it took. A handler's error reaches Retry and Catch shaped as Lambda delivers it.
 */
import '../../local/pipeline/promise-with-resolvers';
import { StateMachine } from 'aws-local-stepfunctions';
import { loadLocalDefinition, localOverrides } from '../../local/pipeline/definition';
import { asLambdaError } from '../../local/pipeline/lambda-runtime';
import { readServerlessFunctions } from '../../local/pipeline/serverless-config';

export type RunResult =
  | { status: 'SUCCEEDED'; output: unknown; path: string[] }
  | { status: 'FAILED'; error: string; cause: string; path: string[] };

export interface RunOptions {
  /** The Lambda behind each Task state, by state name. */
  readonly tasks: Record<string, (payload: unknown) => Promise<unknown>>;
  readonly execution: { Id: string; Name: string; StartTime: string };
}

const local = loadLocalDefinition(readServerlessFunctions(), (key) => `arn:aws:lambda:af-south-1:123456789012:function:monthly-loan-extract-test-${key}`);

export async function runStateMachine(input: unknown, options: RunOptions): Promise<RunResult> {
  const machine = new StateMachine(local.definition as never);
  const invoke = async (state: string, _key: string, payload: unknown) => {
    const task = options.tasks[state];
    if (!task) throw new Error(`no handler given for Task state ${state}`);
    try {
      return await task(JSON.parse(JSON.stringify(payload)));
    } catch (error) {
      throw asLambdaError(error);
    }
  };
  const execution = machine.run(input as never, {
    overrides: localOverrides(local, invoke, { waitMs: 0, retryIntervalMs: 0 }),
    context: { Execution: options.execution },
  });
  const path: string[] = [];
  let failure: { error: string; cause: string } | undefined;
  for await (const event of execution.eventLogs) {
    if (event.type === 'StateEntered') path.push(event.state.name);
    if (event.type === 'ExecutionFailed') failure = { error: event.Error, cause: String(event.Cause) };
  }
  const output = await execution.result.catch(() => undefined);
  return failure ? { status: 'FAILED', ...failure, path } : { status: 'SUCCEEDED', output, path };
}
