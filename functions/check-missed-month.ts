/**
 * CheckMissedMonth: run daily by its schedule (resources/schedule.yml); for every deployed extract
 * (env EXTRACT_IDS), emails when its latest month due (its schedule's run in the month after, plus
 * a grace period) is not SUCCEEDED in the run ledger. The rules are in core/missed-month.ts.
 */
import { z } from 'zod';
import { dynamoDocumentClient } from './commons/clients/dynamodb';
import { DynamoDbMissedMonthNotices } from './commons/clients/dynamodb-missed-month-notices';
import { DynamoDbRunLedger } from './commons/clients/dynamodb-run-ledger';
import { snsClient } from './commons/clients/sns';
import { s3Client } from './commons/clients/s3';
import { S3ObjectStore } from './commons/clients/s3-object-store';
import { SnsAlertSender } from './commons/clients/sns-alerts';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { getStringFromEnv } from './core/config';
import { deployedExtracts } from './core/deployed-extracts';
import { parseExtractIds } from './core/extract-id';
import { checkMissedMonths, type CheckResult } from './core/missed-month';

const table = getStringFromEnv('RUN_LEDGER_TABLE');
const ledger = new DynamoDbRunLedger(dynamoDocumentClient, table);
const notices = new DynamoDbMissedMonthNotices(dynamoDocumentClient, table);
const alerts = new SnsAlertSender(snsClient, getStringFromEnv('ALERT_TOPIC_ARN'));
const stage = getStringFromEnv('STAGE');
const region = getStringFromEnv('AWS_REGION');
const stateMachineArn = getStringFromEnv('STATE_MACHINE_ARN');
const extractIds = parseExtractIds(getStringFromEnv('EXTRACT_IDS'));
// Each extract's time zone comes from its definition, deployed in the scripts bucket.
const extracts = deployedExtracts(new S3ObjectStore(s3Client, getStringFromEnv('EXTRACT_DEFINITIONS_BUCKET')));

/** The schedule's input is `{}`: anything else was not sent by it. */
const payloadSchema = z.strictObject({});

export async function functionHandler(): Promise<CheckResult[]> {
  const results = await checkMissedMonths({ ledger, notices, alerts, stage, region, stateMachineArn, extractIds, extracts, now: new Date() });
  for (const result of results) {
    const what = `${result.extract} ${result.month}`;
    for (const later of result.notDue) logger.info(`${result.extract} ${later.month} is not due until ${later.dueAt}`, { extract: result.extract, ...later });
    logger.info(result.outcome === 'ok' ? `${what} is ${result.state}` : `${what} missed (${result.state})`, { ...result });
  }
  return results;
}

export const handler = stepHandler({ step: 'CheckMissedMonth', payload: payloadSchema, runKeys: null }, functionHandler);
