import { GetCrawlerCommand, GlueClient } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CrawlerProgress } from '../../functions/core/glue-steps';
import type { RunContext } from '../../functions/core/run-context';
import { invokeQuietly, lambdaContext, recordedEvent } from './lambda-harness';

const glue = mockClient(GlueClient);
const event = recordedEvent<{ run: RunContext }>('get-crawler-state.json');
let handler: (event: { run: RunContext }, context: typeof lambdaContext) => Promise<CrawlerProgress>;

beforeAll(async () => {
  process.env.GLUE_CRAWLER_NAME = 'monthly-loan-extract-test-ods';
  ({ handler } = await import('../../functions/get-crawler-state'));
});
beforeEach(() => glue.reset());

function poll() {
  return invokeQuietly(handler, event);
}

describe('GetCrawlerState handler', () => {
  it('reports a running crawl as not done', async () => {
    glue.on(GetCrawlerCommand, { Name: 'monthly-loan-extract-test-ods' }).resolves({ Crawler: { State: 'RUNNING' } });
    await expect(poll()).resolves.toEqual({ crawlerName: 'monthly-loan-extract-test-ods', state: 'RUNNING', done: false });
  });

  it('reports a finished, successful crawl as done', async () => {
    glue.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } });
    await expect(poll()).resolves.toMatchObject({ done: true });
  });

  it('fails with CrawlerFailed and the crawler\'s message when the crawl failed', async () => {
    glue.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY', LastCrawl: { Status: 'FAILED', ErrorMessage: 'Access denied to ods' } } });
    await expect(poll()).rejects.toMatchObject({ name: 'CrawlerFailed', message: expect.stringContaining('finished FAILED: Access denied to ods') });
  });
});
