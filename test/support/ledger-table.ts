/**
 * The run ledger's table on dynalite, a real implementation of DynamoDB's API (the local stand-in's
 * own server, local/stand-ins/dynamodb.ts), so tests see what DynamoDB does with the ledger's
 * conditional writes rather than what a hand-written interpreter of them thinks it does.
 *
 * Handlers build their DynamoDB client at import and resolve its endpoint on first use, so a test
 * file calls `useLedgerTable()` at its top: the table is up and AWS_ENDPOINT_URL_DYNAMODB points at
 * it before any handler sends a request. Items are cleared before each test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { startDynamoDbStandIn } from '../../local/stand-ins/dynamodb';
import type { LoopbackServer } from '../../local/stand-ins/loopback-server';

export const LEDGER_TABLE = 'monthly-loan-extract-test-run-ledger';

export interface LedgerTable {
  /** A document client on the table, as the handlers build theirs. */
  readonly client: DynamoDBDocumentClient;
  /** A ledger on the table (the DynamoDB implementation under test). */
  readonly ledger: DynamoDbRunLedger;
  item(pk: string): Promise<Record<string, unknown> | undefined>;
  put(item: Record<string, unknown>): Promise<void>;
}

export function useLedgerTable(): LedgerTable {
  let server: LoopbackServer | undefined;
  let dataDir: string | undefined;
  let client: DynamoDBDocumentClient | undefined;
  const live = () => {
    if (!client) throw new Error('the ledger table is not started yet (useLedgerTable() must be called at the top of the test file)');
    return client;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-table-'));
    server = await startDynamoDbStandIn(dataDir, LEDGER_TABLE);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: server.url,
      AWS_REGION: process.env.AWS_REGION ?? 'af-south-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: server.url, region: 'af-south-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
  });

  beforeEach(async () => {
    const { Items = [] } = await live().send(new ScanCommand({ TableName: LEDGER_TABLE, ProjectionExpression: 'pk' }));
    for (const { pk } of Items) await live().send(new DeleteCommand({ TableName: LEDGER_TABLE, Key: { pk } }));
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  return {
    get client() {
      return live();
    },
    get ledger() {
      return new DynamoDbRunLedger(live(), LEDGER_TABLE);
    },
    async item(pk) {
      const { Item } = await live().send(new GetCommand({ TableName: LEDGER_TABLE, Key: { pk }, ConsistentRead: true }));
      return Item;
    },
    async put(item) {
      await live().send(new PutCommand({ TableName: LEDGER_TABLE, Item: item }));
    },
  };
}
