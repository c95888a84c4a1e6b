/**
 * PublishExtracts: turns the run's staged Spark output into the month's files and manifest
 * (core/publish-extracts.ts; the S3 calls in commons/clients/s3-object-store.ts).
 */
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { s3Client } from './commons/clients/s3';
import { S3ObjectStore } from './commons/clients/s3-object-store';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { getStringFromEnv } from './core/config';
import type { ObjectStore } from './core/object-store';
import { publishExtracts, publishPayloadSchema, type PublishResult } from './core/publish-extracts';
import { describeSettlement, type JournalLedger } from './core/publish-journal';
import { estimateRunCost, pricesFromEnv, type Prices } from './core/run-cost';

let store: ObjectStore | undefined;
let ledger: JournalLedger | undefined;
let prices: Prices | undefined;

/** Read on first use, so a missing EXTRACT_BUCKET or RUN_LEDGER_TABLE fails the invocation with a message naming it. */
function extractStore(): ObjectStore {
  store ??= new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_BUCKET'));
  return store;
}

function runLedger(): JournalLedger {
  ledger ??= new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));
  return ledger;
}

export async function functionHandler(event: z.infer<typeof publishPayloadSchema>, context: Context): Promise<PublishResult> {
  const started = Date.now();
  const { usage } = event;
  // Read before anything is written, so a missing price fails the invocation before publishing starts.
  const stagePrices = usage && (prices ??= pricesFromEnv());
  const estimateCost =
    usage && stagePrices && (() => estimateRunCost(usage, { durationMs: Date.now() - started, memoryMb: Number(context.memoryLimitInMB) }, stagePrices));
  const result = await publishExtracts(extractStore(), runLedger(), event.run, new Date(), estimateCost);
  const settled = describeSettlement(result.settled);
  if (settled) logger.warn(settled, { settled: result.settled });
  logger.info('month published', {
    manifestKey: result.manifestKey,
    alreadyPublished: result.alreadyPublished,
    files: result.files.map((f) => ({ key: f.key, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
    estimatedCostUsd: result.estimatedCost?.total,
  });
  if (result.stagingCleanup.error) {
    // The month is published; leftover staging only costs storage until the lifecycle rule expires it.
    logger.warn('staging not cleaned up', { error: result.stagingCleanup.error });
  }
  return result;
}

export const handler = stepHandler({ step: 'PublishExtracts', payload: publishPayloadSchema }, functionHandler);
