/**
 * The Lambda runtime, locally: each function's handler (its TypeScript source, which esbuild
 * bundles for AWS), invoked with a Lambda context, its timeout, and failures shaped as Lambda
 * reports them to Step Functions (Error = the error's name, Cause =
 * `{"errorType","errorMessage","trace"}`), so Retry and Catch see exactly what they see on AWS.
 * Handlers' JSON log lines go to a log file, as to CloudWatch.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Context } from 'aws-lambda';
import { REPOSITORY_ROOT, type FunctionConfig } from './serverless-config';

export type LambdaInvoke = (event: unknown) => Promise<unknown>;

export interface LocalLambdas {
  readonly invoke: ReadonlyMap<string, LambdaInvoke>;
  /**
   * Resolves once no handler is running. A stopped execution does not stop the handler it was
   * waiting for (on AWS that Lambda runs on too), so the stand-ins must outlive it: a publish cut
   * off mid-copy could not roll back.
   */
  idle(): Promise<void>;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** An error as the Lambda service reports a function error: its name is the error type, its message the JSON cause. */
export class LambdaFunctionError extends Error {
  constructor(errorType: string, cause: { errorType: string; errorMessage: string; trace: string[] }) {
    super(JSON.stringify(cause));
    this.name = errorType;
  }
}

export interface LambdaNaming {
  readonly functionName: (key: string) => string;
  readonly functionArn: (key: string) => string;
  readonly region: string;
}

/**
 * Imports every handler. Call after the environment is set: handlers read their configuration when
 * their module loads, as in a Lambda cold start.
 */
export async function loadLambdas(functions: ReadonlyMap<string, FunctionConfig>, naming: LambdaNaming): Promise<LocalLambdas> {
  const lambdas = new Map<string, LambdaInvoke>();
  const running = new Set<Promise<unknown>>();
  for (const fn of functions.values()) {
    const module = (await import(join(REPOSITORY_ROOT, fn.modulePath))) as Record<string, unknown>;
    const handler = module[fn.exportName];
    if (typeof handler !== 'function') throw new Error(`${fn.modulePath} does not export a handler named ${fn.exportName}`);
    lambdas.set(fn.key, (event) => {
      const call = invoke(handler as Handler, fn, naming, event);
      const settled = call.catch(() => undefined);
      running.add(settled);
      void settled.finally(() => running.delete(settled));
      return call;
    });
  }
  return {
    invoke: lambdas,
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}

async function invoke(handler: Handler, fn: FunctionConfig, naming: LambdaNaming, event: unknown): Promise<unknown> {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  const functionName = naming.functionName(fn.key);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: naming.functionArn(fn.key),
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } satisfies Context;
  // Like Lambda, the payload crosses a JSON boundary both ways.
  const payload: unknown = JSON.parse(JSON.stringify(event ?? null));
  let timer: NodeJS.Timeout | undefined;
  // Lambda ends an invocation at its timeout with Sandbox.Timedout; the handler's work is cut off
  // there (here it runs on, but its result is dropped).
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LambdaFunctionError('Sandbox.Timedout', {
      errorType: 'Sandbox.Timedout',
      errorMessage: `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
      trace: [],
    })), fn.timeoutSeconds * 1000);
  });
  try {
    const result = await Promise.race([handler(payload, context), timedOut]);
    return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
  } catch (error) {
    throw error instanceof LambdaFunctionError ? error : asLambdaError(error);
  } finally {
    clearTimeout(timer);
  }
}

/** A handler's error as the Lambda service hands it to Step Functions. */
export function asLambdaError(error: unknown): LambdaFunctionError {
  const e = error instanceof Error ? error : new Error(String(error));
  return new LambdaFunctionError(e.name, { errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') });
}

export interface LogRoute {
  readonly path: string;
  /** Restores stdout and closes the log file. */
  restore(): Promise<void>;
}

/**
 * Sends the handlers' JSON log lines (Powertools writes info to stdout, warn and error to stderr)
 * to `path`, one per line, and lets everything else through to the terminal.
 */
export function routeHandlerLogs(path: string): LogRoute {
  mkdirSync(dirname(path), { recursive: true });
  const file: WriteStream = createWriteStream(path, { flags: 'a' });
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const original = originals[i]!;
    stream.write = function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
      if (text !== undefined && text.startsWith('{"') && text.endsWith('\n')) return file.write(text);
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
  });
  return {
    path,
    restore: () =>
      new Promise<void>((resolve) => {
        streams.forEach((stream, i) => (stream.write = originals[i]!));
        file.end(resolve);
      }),
  };
}
