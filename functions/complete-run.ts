/** CompleteRun: mark the month SUCCEEDED in the run ledger with what was published. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { appendRunKeys, logger } from './commons/powertools/logger';
import { getStringFromEnv } from './core/config';
import { completeRun, type CompleteRunOutput, type PublishOutput } from './core/complete-run';
import type { RunContext } from './core/run-context';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));

export async function functionHandler(event: { run: RunContext; published: PublishOutput }): Promise<CompleteRunOutput> {
  appendRunKeys(event.run);
  const output = await completeRun(event.run, event.published, ledger, new Date());
  logger.info(output.message);
  return output;
}

export const handler = middy(functionHandler).use(injectLambdaContext(logger, { clearState: true }));
