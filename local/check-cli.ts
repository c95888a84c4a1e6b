/**
 * `npm run check [-- --extract <id>] [--data-dir DIR] [--at <ISO instant>]`: the missed-month check of
 * one extract (default the loan extract; functions/core/missed-month.ts, what the CheckMissedMonth
 * Lambda runs daily for each deployed extract) against the local ledger, by the extract's schedule
 * and time zone, as at now or `--at`; its email, if any, goes to the outbox as every local alert
 * does. docs/local.md.
 */
import { join } from 'node:path';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbMissedMonthNotices } from '../functions/commons/clients/dynamodb-missed-month-notices';
import { SnsAlertSender } from '../functions/commons/clients/sns-alerts';
import { checkMissedMonth, MISSED_MONTH_GRACE_HOURS } from '../functions/core/missed-month';
import { formatInstantIn } from '../functions/core/month';
import { parseAt, parseCommandLine, parseDataDir, parseExtract, reportFailure, shown } from './cli-options';
import { openLocalLedger } from './pipeline/local-ledger';
import { ALERT_TOPIC_ARN, LOCAL_STAGE, STATE_MACHINE_ARN } from './pipeline/local-stack';
import { S3_STAND_IN_CREDENTIALS } from './stand-ins/s3';
import { startSnsStandIn } from './stand-ins/sns';
import { readdir } from 'node:fs/promises';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), { extract: { type: 'string' }, 'data-dir': { type: 'string' }, at: { type: 'string' } });
  const { definition } = parseExtract(args.extract);
  const dataDir = parseDataDir(args['data-dir']);
  const now = parseAt(args.at);
  const timeZone = definition.schedule.timeZone;
  const inZone = (iso: string) => formatInstantIn(new Date(iso), timeZone);
  const outboxDir = join(dataDir, 'outbox');
  const local = await openLocalLedger(dataDir);
  try {
    const sns = await startSnsStandIn({ topicArn: ALERT_TOPIC_ARN, subscriber: LOCAL_STAGE.supportEmail, outboxDir });
    const snsClient = new SNSClient({ endpoint: sns.url, region: LOCAL_STAGE.region, credentials: S3_STAND_IN_CREDENTIALS });
    try {
      const before = new Set(await readdir(outboxDir));
      const result = await checkMissedMonth(definition, {
        ledger: local.ledger,
        notices: new DynamoDbMissedMonthNotices(local.client, local.tableName),
        alerts: new SnsAlertSender(snsClient, ALERT_TOPIC_ARN),
        stage: LOCAL_STAGE.stage,
        region: LOCAL_STAGE.region,
        stateMachineArn: STATE_MACHINE_ARN,
        now,
      });
      const what = `${result.extract} ${result.month}`;
      console.log(`Missed-month check of ${result.extract} on ${result.day} (${timeZone}), schedule ${definition.schedule.cron}`);
      for (const later of result.notDue) {
        console.log(`● ${result.extract} ${later.month} is not due yet: due at ${inZone(later.dueAt)} (${MISSED_MONTH_GRACE_HOURS} hours after its scheduled run); not checked before then`);
      }
      console.log(`  the latest month due is ${result.month} (due since ${inZone(result.dueAt)})`);
      if (result.outcome === 'ok') {
        console.log(result.state === 'succeeded' ? `✔ ${what} SUCCEEDED: nothing to report` : `● ${what} is running within its lease: nothing to report yet`);
        return;
      }
      console.log(`✖ ${result.subject}`);
      if (result.outcome === 'emailed') {
        for (const name of (await readdir(outboxDir)).filter((n) => !before.has(n))) console.log(`  email to data-support: ${shown(join(outboxDir, name))}`);
      } else {
        console.log(`  already emailed today (${result.day}): at most one email a day per missed extract month`);
      }
      console.log(`  re-run input: ${JSON.stringify(result.rerunInput)}   (locally: npm start -- --extract ${result.extract} --month ${result.month})`);
    } finally {
      snsClient.destroy();
      await sns.close();
    }
  } finally {
    await local.close();
  }
}

main().catch(reportFailure);
