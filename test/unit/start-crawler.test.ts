import { CrawlerRunningException, GlueClient, StartCrawlerCommand } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { startCrawler, type CrawlerStarted } from '../../functions/core/start-crawler';
import { SdkGlueApi } from '../../functions/commons/clients/glue-api';
import type { RunContext } from '../../functions/core/run-context';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

const glueMock = mockClient(GlueClient);
const glue = new SdkGlueApi(new GlueClient({ region: 'af-south-1' }));
const event = recordedEvent<{ run: RunContext }>('start-crawler.json');
let handler: (event: { run: RunContext }, context: typeof lambdaContext) => Promise<CrawlerStarted>;

beforeAll(async () => {
  process.env.GLUE_CRAWLER_NAME = 'monthly-loan-extract-test-ods';
  ({ handler } = await import('../../functions/start-crawler'));
});
beforeEach(() => glueMock.reset());

describe('StartCrawler handler', () => {
  it('starts the configured crawler and logs it under the run', async () => {
    glueMock.on(StartCrawlerCommand).resolves({});
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).resolves.toEqual({ crawlerName: 'monthly-loan-extract-test-ods', alreadyRunning: false });
    } finally {
      logs.restore();
    }
    expect(glueMock).toHaveReceivedCommandWith(StartCrawlerCommand, { Name: 'monthly-loan-extract-test-ods' });
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ message: 'Crawler started', month: '2024-03', runId: event.run.runId, executionArn: event.run.executionArn }),
    );
  });

  it('succeeds when the crawler is already running, so the state machine waits for that crawl', async () => {
    glueMock.on(StartCrawlerCommand).rejects(new CrawlerRunningException({ message: 'already started', $metadata: {} }));
    const logs = captureLogs();
    try {
      await expect(handler(event, lambdaContext)).resolves.toMatchObject({ alreadyRunning: true });
    } finally {
      logs.restore();
    }
  });
});

describe('startCrawler', () => {
  const CRAWLER = 'monthly-loan-extract-prod-ods';

  it('starts the crawler', async () => {
    glueMock.on(StartCrawlerCommand).resolves({});
    await expect(startCrawler(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, alreadyRunning: false });
    expect(glueMock).toHaveReceivedCommandWith(StartCrawlerCommand, { Name: CRAWLER });
  });

  it('a crawler that is already running is waited for, not an error', async () => {
    glueMock.on(StartCrawlerCommand).rejects(new CrawlerRunningException({ message: 'Crawler with name ... has already started', $metadata: {} }));
    await expect(startCrawler(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, alreadyRunning: true });
  });

  it('other start errors fail the step', async () => {
    glueMock.on(StartCrawlerCommand).rejects(Object.assign(new Error('Crawler entry with name x does not exist'), { name: 'EntityNotFoundException' }));
    await expect(startCrawler(glue, CRAWLER)).rejects.toMatchObject({ name: 'EntityNotFoundException' });
  });
});
