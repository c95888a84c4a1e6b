/**
 * NotifyFailure: email support about a failed execution (once) and free its month
 * (core/notify-failure.ts). Invoked by the state machine's Catch path and by the EventBridge rule
 * on execution status changes (TIMED_OUT, ABORTED, FAILED).
 */
import type { z } from 'zod';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { s3Client } from './commons/clients/s3';
import { S3ObjectStore } from './commons/clients/s3-object-store';
import { snsClient } from './commons/clients/sns';
import { SnsAlertSender } from './commons/clients/sns-alerts';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { recordFailedRun } from './commons/powertools/run-metrics';
import { getStringFromEnv } from './core/config';
import { deployedExtracts } from './core/deployed-extracts';
import { notifyCaughtFailure, notifyFailurePayloadSchema, notifyStatusChange, type NotifyDeps } from './core/notify-failure';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));
const alerts = new SnsAlertSender(snsClient, getStringFromEnv('ALERT_TOPIC_ARN'));
const store = new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_BUCKET'));
const stage = getStringFromEnv('STAGE');
const region = getStringFromEnv('AWS_REGION');
// An execution that failed before ResolveRun returned is known by its input only: its month is
// resolved in its extract's time zone, from the definition deployed in the scripts bucket.
const extracts = deployedExtracts(new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_DEFINITIONS_BUCKET')));

type Payload = z.infer<typeof notifyFailurePayloadSchema>;

export async function functionHandler(event: Payload) {
  const deps: NotifyDeps = { ledger, store, alerts, stage, region, extracts, now: new Date() };
  if ('detail' in event) {
    const result = await notifyStatusChange(event, deps);
    if ('emailed' in result && result.emailed) recordFailedRun(result);
    logger.info('Execution status change handled', { status: event.detail.status, ...result });
    return result;
  }
  const result = await notifyCaughtFailure(event, deps);
  if (result.emailed) recordFailedRun(result);
  logger.info(result.emailed ? 'Failure emailed' : 'Failure was already emailed', { ...result });
  return result;
}

/** The run keys are where each of the two payloads carries them. */
function keysOf(event: Payload) {
  return 'detail' in event
    ? { runId: event.detail.name, executionArn: event.detail.executionArn }
    : { extract: event.state.run?.extract.id, month: event.state.run?.month, runId: event.executionName, executionArn: event.executionArn };
}

export const handler = stepHandler({ step: 'NotifyFailure', payload: notifyFailurePayloadSchema, runKeys: keysOf }, functionHandler);
