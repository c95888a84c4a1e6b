/** What handler tests share: a Lambda context, the recorded events, and the JSON log lines. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';

export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'monthly-loan-extract-test-handler',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:af-south-1:123456789012:function:monthly-loan-extract-test-handler',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/monthly-loan-extract-test-handler',
  logStreamName: '2024/04/01/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** A recorded sample event from test/events/, fresh for each call. */
export function recordedEvent<T>(name: string): T {
  return JSON.parse(readFileSync(join(__dirname, '..', 'events', name), 'utf8')) as T;
}

/** Collects the powertools logger's JSON lines (it writes them to stdout) and keeps them out of the test output. */
export function captureLogs(): { lines: Record<string, unknown>[]; restore: () => void } {
  const lines: Record<string, unknown>[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) {
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  });
  return { lines, restore: () => spy.mockRestore() };
}

/** Invokes a handler with its JSON log lines kept off the test output. */
export async function invokeQuietly<E, R>(handler: (event: E, context: typeof lambdaContext) => Promise<R>, event: E): Promise<R> {
  const logs = captureLogs();
  try {
    return await handler(event, lambdaContext);
  } finally {
    logs.restore();
  }
}
