/**
 * `npm run history [-- --stage prod | --data-dir DIR] [--from YYYY-MM --to YYYY-MM] [--json]`: one
 * row per month from the run ledger: status, attempts, last attempt's start, end and duration, and
 * what the last successful run published (files, rows, rejected rows, control totals). Read-only:
 * on AWS it needs dynamodb:Scan on the stage's ledger table and kms:Decrypt on the stage key
 * (docs/operations.md); locally it reads `<data-dir>/dynamodb/` (default .local).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRunHistory } from '../functions/commons/clients/dynamodb-run-history';
import { lastCompleteMonth } from '../functions/core/month';
import { monthRangeBounds } from '../functions/core/month-range';
import { formatHistoryTable, historyRows, type MonthHistoryRow } from '../functions/core/run-history';
import type { MonthRecord } from '../functions/core/run-ledger';
import { parseCommandLine, parseDataDir, reportFailure, stageTimeZone } from '../local/cli-options';
import { openLocalLedger } from '../local/pipeline/local-ledger';
import { parseStageTarget, type StageTarget } from './stage-target';
import { ledgerTableName, stageSettings } from './rerun';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    stage: { type: 'string' },
    region: { type: 'string' },
    'data-dir': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
  });
  const target = parseStageTarget(args);
  const range = monthRangeBounds(args.from, args.to);
  const { records, timeZone, where } = await readLedger(target);
  const rows = historyRows(records, range, lastCompleteMonth(new Date(), timeZone));
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(`Run history from ${where}`);
  console.log(rows.length === 0 ? '  (no months recorded)' : formatHistoryTable(rows));
  printTotals(rows);
}

async function readLedger(target: StageTarget): Promise<{ records: MonthRecord[]; timeZone: string; where: string }> {
  if (target.kind === 'local') {
    const local = await openLocalLedger(parseDataDir(target.dataDir));
    try {
      return { records: await new DynamoDbRunHistory(local.client, local.tableName).listMonths(), timeZone: stageTimeZone(), where: `the local ledger (${local.tableName})` };
    } finally {
      await local.close();
    }
  }
  const settings = stageSettings(target.stage);
  const region = target.region ?? settings.region;
  const table = ledgerTableName(target.stage);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
  try {
    return { records: await new DynamoDbRunHistory(client, table).listMonths(), timeZone: settings.timeZone, where: `${table} in ${region}` };
  } finally {
    client.destroy();
  }
}

function printTotals(rows: readonly MonthHistoryRow[]): void {
  const count = (status: MonthHistoryRow['status']) => rows.filter((r) => r.status === status).length;
  if (rows.length > 0) {
    console.log(`${rows.length} month(s): ${count('SUCCEEDED')} succeeded, ${count('FAILED')} failed, ${count('RUNNING')} running, ${count('NEVER_RAN')} never ran`);
  }
}

main().catch(reportFailure);
