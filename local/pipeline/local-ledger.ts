/**
 * The local run ledger on its own, for the commands that only read or annotate it (`npm run check`,
 * `npm run history`): the data dir's lock, then the DynamoDB stand-in over `<data-dir>/dynamodb/`,
 * the same store and table `npm start` uses.
 */
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { startDynamoDbStandIn } from '../stand-ins/dynamodb';
import { S3_STAND_IN_CREDENTIALS } from '../stand-ins/s3';
import { lockDataDir } from './data-dir-lock';
import { LOCAL_STAGE } from './local-stack';

export interface LocalLedger {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly ledger: DynamoDbRunLedger;
  close(): Promise<void>;
}

export async function openLocalLedger(dataDir: string): Promise<LocalLedger> {
  const lock = await lockDataDir(dataDir);
  try {
    const dynamo = await startDynamoDbStandIn(join(dataDir, 'dynamodb'), LOCAL_STAGE.ledgerTable);
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: dynamo.url, region: LOCAL_STAGE.region, credentials: S3_STAND_IN_CREDENTIALS }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    // Not migrated here (npm start does, `npm run ledger:migrate -- --data-dir` reports it): the
    // ledger and the history read a data dir's months from before extracts were templated as they are.
    return {
      client,
      tableName: LOCAL_STAGE.ledgerTable,
      ledger: new DynamoDbRunLedger(client, LOCAL_STAGE.ledgerTable),
      async close() {
        client.destroy();
        await dynamo.close().finally(() => lock.release());
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
