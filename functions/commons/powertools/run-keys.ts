/**
 * Appends the run's keys (extract, month, runId, executionArn) to every log line of an invocation, so
 * one extract month's run can be followed across all its Lambdas. Runs after the payload is checked;
 * the keys are cleared after the invocation by injectLambdaContext's clearState.
 */
import type { MiddlewareObj } from '@middy/core';
import type { RunContext } from '../../core/run-context';
import { logger } from './logger';

export type RunKeys = Partial<Pick<RunContext, 'month' | 'runId' | 'executionArn'>> & { readonly extract?: string };

/** The keys of a run: its extract by id (the whole definition does not belong on every log line). */
export function keysOfRun(run: RunContext | undefined): RunKeys {
  return run ? { extract: run.extract.id, month: run.month, runId: run.runId, executionArn: run.executionArn } : {};
}

/** By default the keys come from the payload's `run`; states without one say where theirs are. */
export function runKeys<E>(keysOf: (event: E) => RunKeys = (event) => keysOfRun((event as { run: RunContext }).run)): MiddlewareObj<E> {
  return {
    before: (request) => {
      const { extract, month, runId, executionArn } = keysOf(request.event);
      logger.appendKeys({ extract, month, runId, executionArn });
    },
  };
}
