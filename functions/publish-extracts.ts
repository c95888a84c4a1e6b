/**
 * PublishExtracts state: turns the run's staged Spark output into the month's files and manifest.
 * Thin by design: the work is in core/publish.ts, the S3 calls in commons/clients/s3-object-store.ts.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { s3Client } from './commons/clients/s3';
import { S3ObjectStore } from './commons/clients/s3-object-store';
import { appendRunKeys, logger } from './commons/powertools/logger';
import { getStringFromEnv } from './core/config';
import type { ObjectStore } from './core/object-store';
import { publishExtracts, type PublishResult } from './core/publish';
import { describeSettlement, type JournalLedger } from './core/publish-journal';
import type { RunContext } from './core/run-context';

export interface PublishExtractsEvent {
  readonly run: RunContext;
}

let store: ObjectStore | undefined;
let ledger: JournalLedger | undefined;

/** Read on first use, so a missing EXTRACT_BUCKET or RUN_LEDGER_TABLE fails the invocation with a message naming it. */
function extractStore(): ObjectStore {
  store ??= new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_BUCKET'));
  return store;
}

function runLedger(): JournalLedger {
  ledger ??= new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));
  return ledger;
}

async function publishExtractsHandler(event: PublishExtractsEvent): Promise<PublishResult> {
  const run = event?.run;
  if (!run || typeof run.month !== 'string' || typeof run.runId !== 'string' || typeof run.stagingPrefix !== 'string' || !run.window) {
    throw new Error('PublishExtracts expects {"run": RunContext} as ResolveRun returns it (month, runId, window, stagingPrefix)');
  }
  appendRunKeys(run);

  const result = await publishExtracts(extractStore(), runLedger(), run, new Date());
  const settled = describeSettlement(result.settled);
  if (settled) logger.warn(settled, { settled: result.settled });
  logger.info('month published', {
    manifestKey: result.manifestKey,
    alreadyPublished: result.alreadyPublished,
    files: result.files.map((f) => ({ key: f.key, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
  });
  if (result.stagingCleanup.error) {
    // The month is published; leftover staging only costs storage until the lifecycle rule expires it.
    logger.warn('staging not cleaned up', { error: result.stagingCleanup.error });
  }
  return result;
}

export const handler = middy(publishExtractsHandler).use(injectLambdaContext(logger, { clearState: true }));
