/**
 * The DynamoDB stand-in: dynalite (DynamoDB's API on LevelDB) with the run ledger's table, kept
 * under the data dir so the ledger outlives the run, as it does on AWS.
 *
 * dynalite throws a storage error (a full disk, a folder it cannot write) from a callback instead of
 * answering the request, which would end the whole process. Each request is served in its own
 * domain, so such an error answers that request with a 500 InternalServerError naming it, as
 * DynamoDB answers when it fails: the handler's call fails, and the step with it.
 */
import domain from 'node:domain';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { LoopbackServer } from './loopback-server';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export async function startDynamoDbStandIn(dataDir: string, ledgerTable: string): Promise<LoopbackServer> {
  await mkdir(dataDir, { recursive: true });
  await checkStore(dataDir);
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const scope = domain.create();
    scope.on('error', (error: Error) => internalServerError(response, `the local DynamoDB (dynalite, ${dataDir}) failed: ${error.message}`));
    scope.add(request);
    scope.add(response);
    scope.run(() => listeners.forEach((listener) => listener.call(server, request, response)));
  });
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

function internalServerError(response: ServerResponse, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message });
  response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/**
 * Opens dynalite's LevelDB store once before dynalite does: dynalite reports a store that cannot be
 * opened only as "Database is closed", dropping the reason (a folder it may not write, a disk that is
 * full, a lock another process holds).
 */
async function checkStore(dataDir: string): Promise<void> {
  const { Level } = createRequire(require.resolve('dynalite'))('level') as { Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> } };
  const store = new Level(dataDir);
  try {
    await store.open();
  } catch (error) {
    const reason = (error as Error & { cause?: Error }).cause ?? (error as Error);
    throw new Error(`the local DynamoDB cannot open its store in ${dataDir}: ${reason.message}`);
  }
  await store.close();
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
    // dynalite answers CreateTable with CREATING and refuses items until the table is ACTIVE (a
    // timer later): wait for it, as AWS's table-exists waiter does, so the first write never races it.
    for (let attempt = 0; ; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      if (attempt >= 200) throw new Error(`the local DynamoDB table ${tableName} is still ${Table?.TableStatus} after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.destroy();
  }
}
