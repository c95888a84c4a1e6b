/**
 * The DynamoDB stand-in: dynalite (DynamoDB's API on LevelDB) with the run ledger's table, kept
 * under the data dir so the ledger outlives the run, as it does on AWS.
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { LoopbackServer } from './loopback-server';

export async function startDynamoDbStandIn(dataDir: string, ledgerTable: string): Promise<LoopbackServer> {
  await mkdir(dataDir, { recursive: true });
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((resolve, reject) => server.close((error?: Error) => (error ? reject(error) : resolve())));
  try {
    await ensureLedgerTable(url, ledgerTable);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, close };
}

/** The ledger's key schema: partition key `pk` (string), as resources/ declares it on AWS. */
async function ensureLedgerTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } finally {
    client.destroy();
  }
}
