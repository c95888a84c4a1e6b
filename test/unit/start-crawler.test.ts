import { CrawlerRunningException, GlueClient, StartCrawlerCommand } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CrawlerStarted } from '../../functions/core/glue-steps';
import type { RunContext } from '../../functions/core/run-context';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

const glue = mockClient(GlueClient);
const event = recordedEvent<{ run: RunContext }>('start-crawler.json');
let handler: (event: { run: RunContext }, context: typeof lambdaContext) => Promise<CrawlerStarted>;

beforeAll(async () => {
  process.env.GLUE_CRAWLER_NAME = 'monthly-loan-extract-test-ods';
  ({ handler } = await import('../../functions/start-crawler'));
});
beforeEach(() => glue.reset());

describe('StartCrawler handler', () => {
  it('starts the configured crawler and logs it under the run', async () => {
    glue.on(StartCrawlerCommand).resolves({});
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).resolves.toEqual({ crawlerName: 'monthly-loan-extract-test-ods', alreadyRunning: false });
    } finally {
      logs.restore();
    }
    expect(glue).toHaveReceivedCommandWith(StartCrawlerCommand, { Name: 'monthly-loan-extract-test-ods' });
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ message: 'Crawler started', month: '2024-03', runId: event.run.runId, executionArn: event.run.executionArn }),
    );
  });

  it('succeeds when the crawler is already running, so the state machine waits for that crawl', async () => {
    glue.on(StartCrawlerCommand).rejects(new CrawlerRunningException({ message: 'already started', $metadata: {} }));
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).resolves.toMatchObject({ alreadyRunning: true });
    } finally {
      logs.restore();
    }
  });
});
