/**
 * `npm run ledger:migrate -- --stage prod [--region …]` (or `--data-dir DIR` for a local ledger):
 * copies the run ledger's records from before extracts were templated (`month#2024-03`, all the loan
 * extract's) to their extract key (`extract#loan-moving-average#month#2024-03`); see
 * functions/commons/clients/dynamodb-ledger-migration.ts. Idempotent: run it once after deploying
 * the change, again whenever in doubt. Needs dynamodb:Scan and dynamodb:UpdateItem on the stage's
 * ledger table and kms:Decrypt/GenerateDataKey on the stage key (docs/operations.md).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describeMigration, migrateLegacyLedger, type LedgerMigration } from '../functions/commons/clients/dynamodb-ledger-migration';
import { parseCommandLine, parseDataDir, reportFailure } from '../local/cli-options';
import { openLocalLedger } from '../local/pipeline/local-ledger';
import { ledgerTableName, stageSettings } from './rerun';
import { parseStageTarget } from './stage-target';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    stage: { type: 'string' },
    region: { type: 'string' },
    'data-dir': { type: 'string' },
  });
  const target = parseStageTarget(args);
  let migration: LedgerMigration;
  let where: string;
  if (target.kind === 'local') {
    const local = await openLocalLedger(parseDataDir(target.dataDir));
    try {
      migration = await migrateLegacyLedger(local.client, local.tableName);
      where = `the local ledger (${local.tableName})`;
    } finally {
      await local.close();
    }
  } else {
    const region = target.region ?? stageSettings(target.stage).region;
    const table = ledgerTableName(target.stage);
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
    try {
      migration = await migrateLegacyLedger(client, table);
      where = `${table} in ${region}`;
    } finally {
      client.destroy();
    }
  }
  console.log(`${where}: ${describeMigration(migration) ?? 'no records from before extracts were templated; nothing to do.'}`);
}

main().catch(reportFailure);
