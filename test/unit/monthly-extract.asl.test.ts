/**
 * The state machine definition: valid ASL, and the shape the contract needs — every Task caught
 * into NotifyFailure, transient errors retried but never InvalidInput, every poll loop bounded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { loadLocalDefinition } from '../../local/pipeline/definition';
import { readServerlessFunctions } from '../../local/pipeline/serverless-config';

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string; Variable?: string; NumericGreaterThanEquals?: number; StringEquals?: string; BooleanEquals?: boolean }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number; BackoffRate?: number; IntervalSeconds?: number }[];
  Resource?: unknown;
  Parameters?: Record<string, unknown>;
  ResultPath?: string;
  Seconds?: number;
  ErrorPath?: string;
  CausePath?: string;
  Error?: string;
}
interface Definition {
  StartAt: string;
  TimeoutSeconds?: number;
  QueryLanguage?: string;
  States: Record<string, State>;
}

const text = readFileSync(join(__dirname, '..', '..', 'statemachines', 'monthly-extract.asl.yaml'), 'utf8');
const definition = () => load(text) as Definition;
const { States } = definition();
const tasks = Object.entries(States).filter(([, state]) => state.Type === 'Task');
const workTasks = tasks.filter(([name]) => name !== 'NotifyFailure');

/** States reachable from `from` without passing through `stopAt`. */
function successors(state: State): string[] {
  return [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next), ...(state.Catch ?? []).map((c) => c.Next)].filter(
    (name): name is string => typeof name === 'string',
  );
}

describe('monthly-extract.asl.yaml', () => {
  it('is valid Amazon States Language once each Lambda reference is an ARN (asl-validator, paths and ARNs checked)', () => {
    const withArns = loadLocalDefinition(readServerlessFunctions(), (key) => `arn:aws:lambda:af-south-1:123456789012:function:monthly-loan-extract-prod-${key}`);
    const { isValid, errorsText } = aslValidator(withArns.definition, { checkPaths: true, checkArn: true });
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('is JSONPath, which the local runner executes, not JSONata', () => {
    expect(definition().QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(text).not.toMatch(/\{%/);
  });

  it('names each Lambda by its serverless.yml function, whose handler exists', () => {
    const getAtt = (key: string) => ({ 'Fn::GetAtt': [key, 'Arn'] });
    expect(Object.fromEntries(tasks.map(([name, state]) => [name, state.Resource]))).toEqual({
      ResolveRun: getAtt('resolveRun'),
      StartCrawler: getAtt('startCrawler'),
      GetCrawlerState: getAtt('getCrawlerState'),
      StartExtractJob: getAtt('startExtractJob'),
      GetExtractJobState: getAtt('getExtractJobState'),
      PublishExtracts: getAtt('publishExtracts'),
      CompleteRun: getAtt('completeRun'),
      NotifyFailure: getAtt('notifyFailure'),
    });
    const functions = readServerlessFunctions();
    for (const [, state] of tasks) {
      const key = (state.Resource as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      expect(functions.get(key)?.modulePath).toMatch(/^functions\/[a-z-]+$/);
    }
  });

  it.each(workTasks)('%s catches everything into NotifyFailure, keeping the state and naming itself', (name, state) => {
    expect(state.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${name}`, Next: 'NotifyFailure' }]);
  });

  it.each(tasks)('%s retries transient Lambda and throttling errors with backoff, never InvalidInput or InvalidPayload', (_name, state) => {
    const retried = (state.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
    expect(retried).toEqual(
      expect.arrayContaining([
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
        'ThrottlingException',
      ]),
    );
    for (const wildcard of ['InvalidInput', 'InvalidPayload', 'States.ALL', 'States.TaskFailed', 'States.Timeout']) expect(retried).not.toContain(wildcard);
    for (const retry of state.Retry ?? []) {
      expect(retry.BackoffRate).toBeGreaterThan(1);
      expect(retry.MaxAttempts).toBeGreaterThan(0);
    }
  });

  it('never writes ResultPath "$" (the default already replaces the state; the local runner would nest it under a "$" key)', () => {
    expect(Object.entries(States).filter(([, state]) => state.ResultPath === '$').map(([name]) => name)).toEqual([]);
  });

  it('ResolveRun gets the execution input and identity from the context object', () => {
    expect(States.ReadInput).toMatchObject({ Type: 'Pass', Parameters: { 'input.$': '$' }, Next: 'ResolveRun' });
    expect(States.ResolveRun!.Parameters).toEqual({ 'input.$': '$.input', 'executionArn.$': '$$.Execution.Id', 'executionName.$': '$$.Execution.Name' });
  });

  it('every later Lambda gets the run context from $.run', () => {
    for (const [name, state] of workTasks.filter(([n]) => n !== 'ResolveRun')) {
      expect([name, state.Parameters?.['run.$']]).toEqual([name, '$.run']);
    }
  });

  it('skipped and busy months end succeeded; anything else from ResolveRun fails', () => {
    expect(States.RunOrSkip!.Choices).toEqual([
      { Variable: '$.outcome', StringEquals: 'run', Next: 'StartCrawler' },
      { Variable: '$.outcome', StringEquals: 'skipped', Next: 'MonthAlreadySucceeded' },
      { Variable: '$.outcome', StringEquals: 'busy', Next: 'MonthInProgress' },
    ]);
    expect(States.MonthAlreadySucceeded!.Type).toBe('Succeed');
    expect(States.MonthInProgress!.Type).toBe('Succeed');
    expect(States[States.RunOrSkip!.Default!]!.Type).toBe('Fail');
  });

  it('runs the steps in the contract order', () => {
    const path: string[] = [];
    const next: Record<string, string> = { RunOrSkip: 'StartCrawler', IsCrawlerDone: 'StartExtractJob', IsExtractJobDone: 'PublishExtracts' };
    for (let name: string | undefined = definition().StartAt; name; ) {
      path.push(name);
      const state: State = States[name]!;
      name = state.Type === 'Choice' ? next[name] : state.Next;
    }
    expect(path).toEqual([
      'ReadInput',
      'ResolveRun',
      'RunOrSkip',
      'StartCrawler',
      'WaitForCrawler',
      'GetCrawlerState',
      'CountCrawlerPoll',
      'IsCrawlerDone',
      'StartExtractJob',
      'WaitForExtractJob',
      'GetExtractJobState',
      'CountExtractJobPoll',
      'IsExtractJobDone',
      'PublishExtracts',
      'CompleteRun',
      'Done',
    ]);
  });

  it('every loop passes a Choice whose ceiling on a poll counter leads out to NotifyFailure', () => {
    // Find cycles by walking from each Wait state back to itself.
    const waits = Object.entries(States).filter(([, state]) => state.Type === 'Wait');
    expect(waits.map(([name]) => name)).toEqual(['WaitForCrawler', 'WaitForExtractJob']);
    for (const [waitName] of waits) {
      const loop: string[] = [];
      const walk = (name: string, seen: string[]): boolean => {
        if (name === waitName && seen.length > 0) {
          loop.push(...seen);
          return true;
        }
        if (seen.includes(name) || States[name]!.Type === 'Fail') return false;
        return successors(States[name]!).some((next) => walk(next, [...seen, name]));
      };
      expect(walk(waitName, [])).toBe(true);
      const ceilings = loop.flatMap((name) =>
        (States[name]!.Choices ?? []).filter((choice) => typeof choice.NumericGreaterThanEquals === 'number' && choice.Variable?.endsWith('.polls.count')),
      );
      expect(ceilings).toHaveLength(1);
      const exit = States[ceilings[0]!.Next]!;
      expect(exit).toMatchObject({ Type: 'Pass', Next: 'NotifyFailure' });
      expect(exit.ResultPath).toMatch(/^\$\.failure\.WaitFor/);
      // The counter the ceiling reads is incremented inside the same loop.
      const counter = ceilings[0]!.Variable!.replace(/\.count$/, '');
      expect(loop.some((name) => States[name]!.Type === 'Pass' && States[name]!.ResultPath === counter)).toBe(true);
    }
  });

  it('the ceilings and the execution timeout fit inside each other', () => {
    const pollSeconds = (wait: string, choice: string) =>
      States[wait]!.Seconds! * States[choice]!.Choices!.find((c) => c.NumericGreaterThanEquals !== undefined)!.NumericGreaterThanEquals!;
    const waiting = pollSeconds('WaitForCrawler', 'IsCrawlerDone') + pollSeconds('WaitForExtractJob', 'IsExtractJobDone');
    expect(definition().TimeoutSeconds).toBeGreaterThan(waiting);
  });

  it('NotifyFailure ends the execution with the original error and cause, or NotificationFailed if it cannot run', () => {
    expect(States.NotifyFailure).toMatchObject({
      Parameters: {
        'state.$': '$',
        'executionArn.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
        'executionInput.$': '$$.Execution.Input',
        'executionStartTime.$': '$$.Execution.StartTime',
      },
      ResultPath: '$.notice',
      Next: 'Failed',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'NotificationFailed' }],
    });
    expect(States.Failed).toEqual({ Type: 'Fail', ErrorPath: '$.notice.error', CausePath: '$.notice.cause' });
    expect(States.NotificationFailed).toMatchObject({ Type: 'Fail', Error: 'NotificationFailed' });
  });
});
