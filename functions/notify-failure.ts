/**
 * NotifyFailure: email support about a failed execution (once) and free its month in the ledger.
 * Invoked by the state machine's Catch path and by the EventBridge rule on execution status
 * changes (TIMED_OUT, ABORTED, FAILED); see core/notify-failure.ts for how they share one email.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { snsClient } from './commons/clients/sns';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { s3Client } from './commons/clients/s3';
import { S3ObjectStore } from './commons/clients/s3-object-store';
import { SnsAlertSender } from './commons/clients/sns-alerts';
import { logger } from './commons/powertools/logger';
import { getStringFromEnv } from './core/config';
import {
  isStatusChangeEvent,
  notifyCaughtFailure,
  notifyStatusChange,
  type CaughtFailureEvent,
  type ExecutionStatusChangeEvent,
  type NotifyDeps,
} from './core/notify-failure';

const ledger = new DynamoDbRunLedger(dynamoDocumentClient, getStringFromEnv('RUN_LEDGER_TABLE'));
const alerts = new SnsAlertSender(snsClient, getStringFromEnv('ALERT_TOPIC_ARN'));
const store = new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_BUCKET'));
const stage = getStringFromEnv('STAGE');
const region = getStringFromEnv('AWS_REGION');
const timeZone = getStringFromEnv('STAGE_TIME_ZONE');

export async function functionHandler(event: CaughtFailureEvent | ExecutionStatusChangeEvent) {
  const deps: NotifyDeps = { ledger, store, alerts, stage, region, timeZone, now: new Date() };
  if (isStatusChangeEvent(event)) {
    logger.appendKeys({ runId: event.detail.name, executionArn: event.detail.executionArn });
    const result = await notifyStatusChange(event, deps);
    logger.info('Execution status change handled', { status: event.detail.status, ...result });
    return result;
  }
  const { run } = event.state;
  logger.appendKeys({ month: run?.month, runId: event.executionName, executionArn: event.executionArn });
  const result = await notifyCaughtFailure(event, deps);
  logger.info(result.emailed ? 'Failure emailed' : 'Failure was already emailed', { ...result });
  return result;
}

export const handler = middy(functionHandler).use(injectLambdaContext(logger, { clearState: true }));
