/**
 * CheckMissedMonth: run daily by its schedule (resources/schedule.yml); emails support when the last
 * complete month is not SUCCEEDED in the run ledger. The rules are in core/missed-month.ts.
 */
import { z } from 'zod';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbMissedMonthNotices } from './commons/clients/dynamodb-missed-month-notices';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { snsClient } from './commons/clients/sns';
import { SnsAlertSender } from './commons/clients/sns-alerts';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { getStringFromEnv } from './core/config';
import { checkMissedMonth, type CheckResult } from './core/missed-month';

const table = getStringFromEnv('RUN_LEDGER_TABLE');
const ledger = new DynamoDbRunLedger(dynamoDocumentClient, table);
const notices = new DynamoDbMissedMonthNotices(dynamoDocumentClient, table);
const alerts = new SnsAlertSender(snsClient, getStringFromEnv('ALERT_TOPIC_ARN'));
const stage = getStringFromEnv('STAGE');
const region = getStringFromEnv('AWS_REGION');
const timeZone = getStringFromEnv('STAGE_TIME_ZONE');
const stateMachineArn = getStringFromEnv('STATE_MACHINE_ARN');

/** The schedule's input is `{}`: anything else was not sent by it. */
const payloadSchema = z.strictObject({});

export async function functionHandler(): Promise<CheckResult> {
  const result = await checkMissedMonth({ ledger, notices, alerts, stage, region, timeZone, stateMachineArn, now: new Date() });
  logger.appendKeys({ month: result.month });
  logger.info(result.outcome === 'ok' ? `${result.month} is ${result.state}` : `${result.month} missed (${result.state})`, { ...result });
  return result;
}

export const handler = stepHandler({ step: 'CheckMissedMonth', payload: payloadSchema, runKeys: null }, functionHandler);
