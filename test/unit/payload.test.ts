/**
 * Every handler checks its payload at its edge (commons/powertools/payload.ts): a payload that does
 * not fit fails with InvalidPayload naming the field, before any AWS call. The state machine does
 * not retry InvalidPayload (monthly-extract.asl.test.ts), so the error shows on the execution as is.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { invokeQuietly, recordedEvent } from './lambda-harness';

const clients = [mockClient(GlueClient), mockClient(S3Client), mockClient(SNSClient), mockClient(DynamoDBDocumentClient)];

type Handler = (event: unknown, context: Context) => Promise<unknown>;

beforeAll(() => {
  Object.assign(process.env, {
    GLUE_CRAWLER_NAME: 'monthly-loan-extract-test-ods',
    GLUE_JOB_NAME_PREFIX: 'monthly-loan-extract-test-',
    EXTRACT_BUCKET: 'monthly-loan-extract-test-extracts',
    RUN_LEDGER_TABLE: 'monthly-loan-extract-test-run-ledger',
    ALERT_TOPIC_ARN: 'arn:aws:sns:af-south-1:123456789012:monthly-loan-extract-test-alerts',
    STAGE: 'test',
    AWS_REGION: 'af-south-1',
    EXTRACT_DEFINITIONS_BUCKET: 'monthly-loan-extract-test-scripts',
    EXTRACT_IDS: 'loan-moving-average',
    RUN_LEASE_MINUTES: '360',
    STATE_MACHINE_ARN: 'arn:aws:states:af-south-1:123456789012:stateMachine:monthly-loan-extract-test',
  });
});
beforeEach(() => clients.forEach((client) => client.reset()));

async function handlerOf(name: string): Promise<Handler> {
  return ((await import(`../../functions/${name}`)) as { handler: Handler }).handler;
}

const withRun = (file: string, change: (run: Record<string, unknown>) => Record<string, unknown>) => {
  const event = recordedEvent<{ run: Record<string, unknown> }>(file);
  return { ...event, run: change(event.run) };
};

// [handler, payload, the message it fails with]
const malformed: [string, unknown, string][] = [
  ['start-crawler', {}, 'run: Invalid input: expected object, received undefined'],
  ['get-crawler-state', withRun('get-crawler-state.json', ({ month: _month, ...run }) => run), 'run.month: Invalid input: expected string, received undefined'],
  ['start-extract-job', withRun('start-extract-job.json', (run) => ({ ...run, month: '2024-13' })), 'run.month: "2024-13" has month 13; months run from 01 to 12'],
  [
    'get-extract-job-state',
    { ...recordedEvent<object>('get-extract-job-state.json'), jobRunId: '' },
    'jobRunId: Too small: expected string to have >=1 characters',
  ],
  [
    'publish-extracts',
    withRun('publish-extracts.json', (run) => ({ ...run, window: { ...(run.window as object), windowStart: '2024-01-01' } })),
    'run.window: is not the window of 2024-02',
  ],
  ['complete-run', { ...recordedEvent<object>('complete-run.json'), published: { files: [] } }, 'published.manifestKey: Invalid input: expected string, received undefined'],
  ['resolve-run', { input: {}, executionArn: 'arn:aws:states:af-south-1:123456789012:execution:x:y' }, 'executionName: Invalid input: expected string, received undefined'],
  ['notify-failure', { state: {}, executionName: 'y' }, 'executionArn: Invalid input: expected string, received undefined'],
  ['check-missed-month', { month: '2024-03' }, 'payload: Unrecognized key: "month"'],
];

describe('a malformed payload', () => {
  it.each(malformed)('%s fails with InvalidPayload naming the field, touching nothing', async (name, payload, message) => {
    const handler = await handlerOf(name);
    const error = await invokeQuietly(handler, payload).then(
      () => undefined,
      (thrown: Error) => thrown,
    );
    expect(error).toMatchObject({ name: 'InvalidPayload' });
    expect(error!.message).toContain(message);
    for (const client of clients) expect(client.calls()).toHaveLength(0);
  });

  it('several bad fields are all named in one message', async () => {
    const handler = await handlerOf('start-crawler');
    const payload = withRun('start-crawler.json', (run) => ({ ...run, force: 'yes', runId: 'a b' }));
    await expect(invokeQuietly(handler, payload)).rejects.toMatchObject({
      name: 'InvalidPayload',
      message: expect.stringContaining('run.runId: must be an execution name: no spaces or slashes'),
    });
    await expect(invokeQuietly(handler, payload)).rejects.toThrow('run.force: Invalid input: expected boolean, received string');
  });

  it('a status-change event from another source is refused, not mistaken for a failure to email', async () => {
    const handler = await handlerOf('notify-failure');
    const event = { ...recordedEvent<object>('execution-status-failed.json'), source: 'aws.glue' };
    await expect(invokeQuietly(handler, event)).rejects.toMatchObject({ name: 'InvalidPayload', message: expect.stringContaining('source: Invalid input: expected "aws.states"') });
    for (const client of clients) expect(client.calls()).toHaveLength(0);
  });
});
