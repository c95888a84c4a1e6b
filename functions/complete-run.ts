/** CompleteRun: mark the month SUCCEEDED in the run ledger with what was published (core/complete-run.ts). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { z } from 'zod';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { logger } from './commons/powertools/logger';
import { handlerMetrics, metrics } from './commons/powertools/metrics';
import { validPayload } from './commons/powertools/payload';
import { tracer } from './commons/powertools/tracer';
import { recordSucceededRun } from './commons/powertools/run-metrics';
import { runKeys } from './commons/powertools/run-keys';
import { completeRun, completeRunPayloadSchema, type CompleteRunOutput } from './core/complete-run';
import { getStringFromEnv } from './core/config';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));

export async function functionHandler(event: z.infer<typeof completeRunPayloadSchema>): Promise<CompleteRunOutput> {
  const output = await completeRun(event.run, event.published, ledger, new Date(), event.executionStartTime);
  recordSucceededRun(output, event.published);
  logger.info(output.message);
  return output;
}

export const handler = middy(functionHandler)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics))
  .use(handlerMetrics('CompleteRun'))
  .use(validPayload(completeRunPayloadSchema))
  .use(runKeys());
