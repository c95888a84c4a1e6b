/** ResolveRun: validate the execution input, read the extract's definition, resolve the month and take it in the run ledger (core/resolve-run.ts). */
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { s3Client } from './commons/clients/s3';
import { S3ObjectStore } from './commons/clients/s3-object-store';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { getIntegerFromEnv, getStringFromEnv } from './core/config';
import { deployedExtracts } from './core/deployed-extracts';
import { resolveRun, resolveRunRequestSchema, type ResolveRunRequest, type ResolveRunResult } from './core/resolve-run';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));
const store = new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_BUCKET'));
// The scripts bucket, where each extract's folder is deployed with the code.
const extracts = deployedExtracts(new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_DEFINITIONS_BUCKET')));
const leaseMinutes = getIntegerFromEnv('RUN_LEASE_MINUTES');
if (leaseMinutes < 1) throw new Error(`RUN_LEASE_MINUTES must be at least 1, got ${leaseMinutes}`);

export async function functionHandler(event: ResolveRunRequest): Promise<ResolveRunResult> {
  const result = await resolveRun(event, { ledger, store, extracts, leaseMinutes, now: new Date() });
  // The extract and month are only known once the input is resolved, so they join the run's keys here.
  logger.appendKeys({ extract: result.extract, month: result.month });
  logger.info(result.message, { outcome: result.outcome });
  return result;
}

export const handler = stepHandler(
  { step: 'ResolveRun', payload: resolveRunRequestSchema, runKeys: (event) => ({ runId: event.executionName, executionArn: event.executionArn }) },
  functionHandler,
);
