/** CompleteRun: mark the month SUCCEEDED in the run ledger with what was published (core/complete-run.ts). */
import type { z } from 'zod';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { recordSucceededRun } from './commons/powertools/run-metrics';
import { completeRun, completeRunPayloadSchema, type CompleteRunOutput } from './core/complete-run';
import { getStringFromEnv } from './core/config';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));

export async function functionHandler(event: z.infer<typeof completeRunPayloadSchema>): Promise<CompleteRunOutput> {
  const output = await completeRun(event.run, event.published, ledger, new Date(), event.executionStartTime);
  recordSucceededRun(output, event.published, event.run.extract);
  logger.info(output.message);
  return output;
}

export const handler = stepHandler({ step: 'CompleteRun', payload: completeRunPayloadSchema }, functionHandler);
