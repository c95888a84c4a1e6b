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
import { notifyCaughtFailure, notifyFailurePayloadSchema, notifyStatusChange, type NotifyDeps } from './core/notify-failure';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));
const alerts = new SnsAlertSender(snsClient, getStringFromEnv('ALERT_TOPIC_ARN'));
const store = new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_BUCKET'));
const stage = getStringFromEnv('STAGE');
const region = getStringFromEnv('AWS_REGION');
const timeZone = getStringFromEnv('STAGE_TIME_ZONE');

type Payload = z.infer<typeof notifyFailurePayloadSchema>;

export async function functionHandler(event: Payload) {
  const deps: NotifyDeps = { ledger, store, alerts, stage, region, timeZone, now: new Date() };
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
    : { month: event.state.run?.month, runId: event.executionName, executionArn: event.executionArn };
}

export const handler = stepHandler({ step: 'NotifyFailure', payload: notifyFailurePayloadSchema, runKeys: keysOf }, functionHandler);
