/**
 * The edge every Lambda of the pipeline shares, so a handler file holds only its step: middy with,
 * in order, one line each,
 *   injectLambdaContext  JSON logs with the Lambda context; appended keys cleared after each invocation
 *   captureLambdaHandler an X-Ray segment around the invocation (the SDK clients add theirs)
 *   logMetrics           flushes the invocation's metrics as one EMF line
 *   handlerMetrics       the `handler` dimension and HandlerDuration, failed invocations included
 *   validPayload         the payload checked against its schema: InvalidPayload before any work
 *   runKeys              month, runId and executionArn on every log line (when the step has a run)
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { logger } from './logger';
import { handlerMetrics, metrics } from './metrics';
import { validPayload } from './payload';
import { runKeys, type RunKeys } from './run-keys';
import { tracer } from './tracer';

export interface StepOptions<S extends z.ZodType> {
  /** The state (or scheduled check) this Lambda serves, as metrics and logs name it. */
  readonly step: string;
  readonly payload: S;
  /** Where the payload's run keys are; by default its `run`; `null` for a step without a run. */
  readonly runKeys?: ((event: z.infer<S>) => RunKeys) | null;
}

export function stepHandler<S extends z.ZodType, R>(
  options: StepOptions<S>,
  handle: (event: z.infer<S>, context: Context) => Promise<R>,
): middy.MiddyfiedHandler<z.infer<S>, R, Error, Context> {
  const edge = middy<z.infer<S>, R, Error, Context>(handle)
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics))
    .use(handlerMetrics(options.step))
    .use(validPayload(options.payload));
  return options.runKeys === null ? edge : edge.use(runKeys(options.runKeys));
}
