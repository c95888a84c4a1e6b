/**
 * `npm run check [-- --data-dir DIR]`: the missed-month check (functions/core/missed-month.ts, what
 * the CheckMissedMonth Lambda runs daily) against the local ledger; its email, if any, goes to the
 * outbox as every local alert does. docs/local.md.
 */
import { join } from 'node:path';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbMissedMonthNotices } from '../functions/commons/clients/dynamodb-missed-month-notices';
import { SnsAlertSender } from '../functions/commons/clients/sns-alerts';
import { checkMissedMonth } from '../functions/core/missed-month';
import { parseCommandLine, parseDataDir, reportFailure, shown, stageTimeZone } from './cli-options';
import { openLocalLedger } from './pipeline/local-ledger';
import { ALERT_TOPIC_ARN, LOCAL_STAGE, STATE_MACHINE_ARN } from './pipeline/local-stack';
import { S3_STAND_IN_CREDENTIALS } from './stand-ins/s3';
import { startSnsStandIn } from './stand-ins/sns';
import { readdir } from 'node:fs/promises';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), { 'data-dir': { type: 'string' } });
  const dataDir = parseDataDir(args['data-dir']);
  const timeZone = stageTimeZone();
  const outboxDir = join(dataDir, 'outbox');
  const local = await openLocalLedger(dataDir);
  try {
    const sns = await startSnsStandIn({ topicArn: ALERT_TOPIC_ARN, subscriber: LOCAL_STAGE.supportEmail, outboxDir });
    const snsClient = new SNSClient({ endpoint: sns.url, region: LOCAL_STAGE.region, credentials: S3_STAND_IN_CREDENTIALS });
    try {
      const before = new Set(await readdir(outboxDir));
      const result = await checkMissedMonth({
        ledger: local.ledger,
        notices: new DynamoDbMissedMonthNotices(local.client, local.tableName),
        alerts: new SnsAlertSender(snsClient, ALERT_TOPIC_ARN),
        stage: LOCAL_STAGE.stage,
        region: LOCAL_STAGE.region,
        timeZone,
        stateMachineArn: STATE_MACHINE_ARN,
        now: new Date(),
      });
      console.log(`Missed-month check on ${result.day} (${timeZone}): the last complete month is ${result.month}`);
      if (result.outcome === 'ok') {
        console.log(result.state === 'succeeded' ? `✔ ${result.month} SUCCEEDED: nothing to report` : `● ${result.month} is running within its lease: nothing to report yet`);
        return;
      }
      console.log(`✖ ${result.subject}`);
      if (result.outcome === 'emailed') {
        for (const name of (await readdir(outboxDir)).filter((n) => !before.has(n))) console.log(`  email to data-support: ${shown(join(outboxDir, name))}`);
      } else {
        console.log(`  already emailed today (${result.day}): at most one email a day per missed month`);
      }
      console.log(`  re-run input: ${JSON.stringify(result.rerunInput)}   (locally: npm start -- --month ${result.month})`);
    } finally {
      snsClient.destroy();
      await sns.close();
    }
  } finally {
    await local.close();
  }
}

main().catch(reportFailure);
