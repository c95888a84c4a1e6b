/** CompleteRun: mark the month SUCCEEDED in the run ledger with what was published (core/complete-run.ts). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { z } from 'zod';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { logger } from './commons/powertools/logger';
import { validPayload } from './commons/powertools/payload';
import { runKeys } from './commons/powertools/run-keys';
import { completeRun, completeRunPayloadSchema, type CompleteRunOutput } from './core/complete-run';
import { getStringFromEnv } from './core/config';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));

export async function functionHandler(event: z.infer<typeof completeRunPayloadSchema>): Promise<CompleteRunOutput> {
  const output = await completeRun(event.run, event.published, ledger, new Date());
  logger.info(output.message);
  return output;
}

export const handler = middy(functionHandler)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(validPayload(completeRunPayloadSchema))
  .use(runKeys());
