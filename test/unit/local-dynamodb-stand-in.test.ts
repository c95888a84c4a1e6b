/**
 * The DynamoDB stand-in (dynalite) when its storage fails: a write that fails (a full disk) answers
 * that request 500 InternalServerError naming the reason, as DynamoDB does, instead of throwing
 * where no one catches it and ending the process; a store it cannot open is refused at start, with
 * LevelDB's reason.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbStandIn } from '../../local/stand-ins/dynamodb';

/** dynalite's own copy of LevelDB. */
const { ClassicLevel } = createRequire(require.resolve('dynalite'))('classic-level') as { ClassicLevel: { prototype: Record<string, unknown> } };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loan-extract-dynamodb-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('the DynamoDB stand-in', () => {
  it('answers a write its store cannot make with InternalServerError naming the reason, and keeps serving reads', async () => {
    const store = join(dir, 'dynamodb');
    const dynamo = await startDynamoDbStandIn(store, 'run-ledger');
    const client = new DynamoDBClient({ endpoint: dynamo.url, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      await client.send(new PutItemCommand({ TableName: 'run-ledger', Item: { pk: { S: 'before' } } }));
      const full = Object.assign(new Error(`IO error: ${store}/000005.log: No space left on device`), { code: 'LEVEL_IO_ERROR' });
      for (const method of ['_put', '_batch']) jest.spyOn(ClassicLevel.prototype, method as never).mockRejectedValue(full as never);
      await expect(client.send(new PutItemCommand({ TableName: 'run-ledger', Item: { pk: { S: 'after' } } }))).rejects.toMatchObject({
        name: 'InternalServerError',
        message: `the local DynamoDB (dynalite, ${store}) failed: IO error: ${store}/000005.log: No space left on device`,
      });
      const read = await client.send(new GetItemCommand({ TableName: 'run-ledger', Key: { pk: { S: 'before' } } }));
      expect(read.Item).toEqual({ pk: { S: 'before' } });
    } finally {
      client.destroy();
      await dynamo.close();
    }
  });

  it('refuses at start a store LevelDB cannot open, with its reason (dynalite would only say "Database is closed")', async () => {
    const store = join(dir, 'dynamodb');
    await mkdir(join(store, 'LOCK'), { recursive: true });
    await expect(startDynamoDbStandIn(store, 'run-ledger')).rejects.toThrow(`the local DynamoDB cannot open its store in ${store}: IO error: ${store}/LOCK: Is a directory`);
  });
});
