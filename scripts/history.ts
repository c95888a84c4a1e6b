/**
 * `npm run history [-- --extract <id>] [--stage prod | --data-dir DIR] [--from YYYY-MM --to YYYY-MM] [--json] [--at <ISO instant>]`:
 * one row per month of the extract (default the loan extract) from the run ledger: status (a month
 * without a record NEVER_RAN once due, NOT_DUE before; as at now or `--at`), attempts, last attempt's start, end and duration, and
 * what the last successful run published (files, rows, rejected rows, control totals). Read-only:
 * on AWS it needs dynamodb:Scan on the stage's ledger table and kms:Decrypt on the stage key
 * (docs/operations.md); locally it reads `<data-dir>/dynamodb/` (default .local).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRunHistory } from '../functions/commons/clients/dynamodb-run-history';
import { monthRangeBounds } from '../functions/core/month-range';
import { formatHistoryTable, historyExtractOf, historyRows, type MonthHistoryRow } from '../functions/core/run-history';
import type { MonthRecord } from '../functions/core/run-ledger';
import { parseAt, parseCommandLine, parseDataDir, parseExtract, reportFailure } from '../local/cli-options';
import { openLocalLedger } from '../local/pipeline/local-ledger';
import { parseStageTarget, type StageTarget } from './stage-target';
import { ledgerTableName, stageSettings } from './rerun';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    extract: { type: 'string' },
    stage: { type: 'string' },
    region: { type: 'string' },
    'data-dir': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    at: { type: 'string' },
  });
  // The definition as in this checkout: deployed from it, so its time zone and control totals are the stage's.
  const { definition } = parseExtract(args.extract);
  const extract = historyExtractOf(definition);
  const target = parseStageTarget(args);
  const range = monthRangeBounds(args.from, args.to);
  const { records, where } = await readLedger(target, extract.id);
  const rows = historyRows(extract, records, range, parseAt(args.at));
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(`Run history of ${extract.id} from ${where}`);
  console.log(rows.length === 0 ? '  (no months recorded)' : formatHistoryTable(extract, rows));
  printTotals(rows);
}

async function readLedger(target: StageTarget, extractId: string): Promise<{ records: MonthRecord[]; where: string }> {
  if (target.kind === 'local') {
    const local = await openLocalLedger(parseDataDir(target.dataDir));
    try {
      return { records: await new DynamoDbRunHistory(local.client, local.tableName).listMonths(extractId), where: `the local ledger (${local.tableName})` };
    } finally {
      await local.close();
    }
  }
  const region = target.region ?? stageSettings(target.stage).region;
  const table = ledgerTableName(target.stage);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
  try {
    return { records: await new DynamoDbRunHistory(client, table).listMonths(extractId), where: `${table} in ${region}` };
  } finally {
    client.destroy();
  }
}

function printTotals(rows: readonly MonthHistoryRow[]): void {
  const count = (status: MonthHistoryRow['status']) => rows.filter((r) => r.status === status).length;
  if (rows.length > 0) {
    console.log(
      `${rows.length} month(s): ${count('SUCCEEDED')} succeeded, ${count('FAILED')} failed, ${count('RUNNING')} running, ${count('NEVER_RAN')} never ran` +
        (count('NOT_DUE') > 0 ? `, ${count('NOT_DUE')} not due yet` : ''),
    );
  }
}

main().catch(reportFailure);
