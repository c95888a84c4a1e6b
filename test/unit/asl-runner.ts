/**
 * A small JSONPath ASL interpreter for the flow tests: just the features monthly-extract.asl.yaml
 * uses, each as the States Language spec and AWS define it, and an error for anything else, so a
 * definition that strays from them fails here instead of silently passing. Waits do not wait and
 * Retry is not simulated (the tasks here fail for real reasons, not transient ones). A Lambda
 * error reaches a Catch as AWS delivers it: Error = its name, Cause = the runtime's JSON.
 */

type Json = unknown;
type Obj = Record<string, Json>;

export interface Definition {
  StartAt: string;
  States: Record<string, Obj>;
}

export interface RunOptions {
  /** The Lambda behind each Task state, by state name. */
  tasks: Record<string, (payload: Json) => Promise<Json>>;
  execution: { Id: string; Name: string; StartTime: string };
  maxTransitions?: number;
}

export type RunResult =
  | { status: 'SUCCEEDED'; output: Json; path: string[] }
  | { status: 'FAILED'; error: string; cause: string; path: string[] };

class RuntimeFailure extends Error {
  override name = 'States.Runtime';
}

export async function runStateMachine(definition: Definition, input: Json, options: RunOptions): Promise<RunResult> {
  const context = { Execution: { ...options.execution, Input: input } };
  const path: string[] = [];
  let name = definition.StartAt;
  let data: Json = input;
  try {
    for (let transitions = 0; transitions < (options.maxTransitions ?? 5000); transitions++) {
      const state = definition.States[name];
      if (!state) throw new RuntimeFailure(`no state named ${name}`);
      path.push(name);
      switch (state.Type) {
        case 'Pass': {
          const result = state.Parameters !== undefined ? template(state.Parameters, data, context) : 'Result' in state ? state.Result : data;
          data = applyResultPath(data, result, state.ResultPath as string | undefined);
          name = state.Next as string;
          break;
        }
        case 'Wait':
          name = state.Next as string;
          break;
        case 'Choice':
          name = choose(state, data);
          break;
        case 'Succeed':
          return { status: 'SUCCEEDED', output: data, path };
        case 'Fail':
          return {
            status: 'FAILED',
            error: (state.Error as string | undefined) ?? (query(state.ErrorPath as string, data, context) as string),
            cause: (state.Cause as string | undefined) ?? (query(state.CausePath as string, data, context) as string),
            path,
          };
        case 'Task': {
          const task = options.tasks[name];
          if (!task) throw new Error(`no task handler for ${name}`);
          const payload = state.Parameters !== undefined ? template(state.Parameters, data, context) : data;
          let result: Json;
          try {
            result = JSON.parse(JSON.stringify((await task(payload)) ?? null));
          } catch (error) {
            const failure = error instanceof Error ? error : new Error(String(error));
            const caught = ((state.Catch as Obj[] | undefined) ?? []).find((c) =>
              (c.ErrorEquals as string[]).some((e) => e === 'States.ALL' || e === failure.name),
            );
            const errorOutput = {
              Error: failure.name,
              Cause: JSON.stringify({ errorType: failure.name, errorMessage: failure.message, trace: [] }),
            };
            if (!caught) return { status: 'FAILED', error: errorOutput.Error, cause: errorOutput.Cause, path };
            data = applyResultPath(data, errorOutput, caught.ResultPath as string | undefined);
            name = caught.Next as string;
            break;
          }
          if (state.ResultSelector !== undefined) result = template(state.ResultSelector, result, context);
          data = applyResultPath(data, result, state.ResultPath as string | undefined);
          if (state.End === true) return { status: 'SUCCEEDED', output: data, path };
          name = state.Next as string;
          break;
        }
        default:
          throw new Error(`state type ${String(state.Type)} is not supported by this runner`);
      }
    }
    throw new Error('too many transitions: a loop without a ceiling?');
  } catch (error) {
    if (error instanceof RuntimeFailure) return { status: 'FAILED', error: error.name, cause: error.message, path };
    throw error;
  }
}

function choose(state: Obj, data: Json): string {
  for (const rule of state.Choices as Obj[]) {
    const value = query(rule.Variable as string, data, {}, true);
    if ('StringEquals' in rule && value === rule.StringEquals) return rule.Next as string;
    if ('BooleanEquals' in rule && value === rule.BooleanEquals) return rule.Next as string;
    if ('NumericGreaterThanEquals' in rule && typeof value === 'number' && value >= (rule.NumericGreaterThanEquals as number)) return rule.Next as string;
    const known = ['Variable', 'Next', 'StringEquals', 'BooleanEquals', 'NumericGreaterThanEquals'];
    const unknown = Object.keys(rule).filter((key) => !known.includes(key));
    if (unknown.length > 0) throw new Error(`choice operators ${unknown.join(', ')} are not supported by this runner`);
  }
  if (typeof state.Default !== 'string') throw new RuntimeFailure('States.NoChoiceMatched');
  return state.Default;
}

/** A payload template: `key.$` values are paths or intrinsic functions, nested objects recurse. */
function template(value: Json, data: Json, context: Json): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Obj).map(([key, inner]) => {
      if (!key.endsWith('.$')) return [key, template(inner, data, context)];
      const expression = inner as string;
      return [key.slice(0, -2), expression.startsWith('$') ? query(expression, data, context) : intrinsic(expression, data, context)];
    }),
  );
}

/** Reference paths only: `$`, `$.a.b`, `$$.Execution.Id`. A missing node fails the execution (States.Runtime). */
function query(expression: string, data: Json, context: Json, lenient = false): Json {
  const [root, rest] = expression.startsWith('$$') ? [context, expression.slice(2)] : [data, expression.slice(1)];
  if (rest !== '' && !/^(\.[A-Za-z_][\w]*)+$/.test(rest)) throw new Error(`path ${expression} is not supported by this runner`);
  let node: Json = root;
  for (const part of rest.split('.').slice(1)) {
    if (typeof node !== 'object' || node === null || !(part in (node as Obj))) {
      if (lenient) return undefined;
      throw new RuntimeFailure(`The JSONPath '${expression}' could not be found in the input`);
    }
    node = (node as Obj)[part];
  }
  return node;
}

/** ResultPath: `$` (or absent) replaces the input; `$.a.b` sets a node, building the nodes on the way. */
function applyResultPath(input: Json, result: Json, resultPath: string | null | undefined): Json {
  if (resultPath === undefined || resultPath === '$') return result;
  if (resultPath === null) return input;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RuntimeFailure('States.ResultPathMatchFailure');
  const copy = structuredClone(input) as Obj;
  const parts = resultPath.slice(2).split('.');
  let node = copy;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Obj;
  }
  node[parts.at(-1)!] = result;
  return copy;
}

function intrinsic(expression: string, data: Json, context: Json): Json {
  const match = /^(States\.\w+)\((.*)\)$/.exec(expression);
  if (!match) throw new Error(`not an intrinsic function: ${expression}`);
  const args = (match[2]!.match(/'(?:[^'\\]|\\.)*'|[^,\s][^,]*/g) ?? []).map((arg) => {
    const text = arg.trim();
    if (text.startsWith("'")) return text.slice(1, -1).replace(/\\(.)/g, '$1');
    if (text.startsWith('$')) return query(text, data, context);
    return JSON.parse(text) as Json;
  });
  switch (match[1]) {
    case 'States.MathAdd':
      return (args[0] as number) + (args[1] as number);
    case 'States.Format': {
      let i = 1;
      return (args[0] as string).replace(/\{\}/g, () => String(args[i++]));
    }
    default:
      throw new Error(`${match[1]} is not supported by this runner`);
  }
}
