/**
 * Appends the run's keys (month, runId, executionArn) to every log line of an invocation, so one
 * month's run can be followed across all its Lambdas. Runs after the payload is checked; the keys
 * are cleared after the invocation by injectLambdaContext's clearState.
 */
import type { MiddlewareObj } from '@middy/core';
import type { RunContext } from '../../core/run-context';
import { logger } from './logger';

export type RunKeys = Partial<Pick<RunContext, 'month' | 'runId' | 'executionArn'>>;

/** By default the keys come from the payload's `run`; states without one say where theirs are. */
export function runKeys<E>(keysOf: (event: E) => RunKeys = (event) => (event as { run: RunContext }).run): MiddlewareObj<E> {
  return {
    before: (request) => {
      const { month, runId, executionArn } = keysOf(request.event);
      logger.appendKeys({ month, runId, executionArn });
    },
  };
}
