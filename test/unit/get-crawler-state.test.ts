import { GetCrawlerCommand, GlueClient } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { getCrawlerState, type CrawlerProgress } from '../../functions/core/get-crawler-state';
import { SdkGlueApi } from '../../functions/commons/clients/glue-api';
import type { RunContext } from '../../functions/core/run-context';
import { invokeQuietly, lambdaContext, recordedEvent } from './lambda-harness';

const glueMock = mockClient(GlueClient);
const glue = new SdkGlueApi(new GlueClient({ region: 'af-south-1' }));
const event = recordedEvent<{ run: RunContext }>('get-crawler-state.json');
let handler: (event: { run: RunContext }, context: typeof lambdaContext) => Promise<CrawlerProgress>;

beforeAll(async () => {
  process.env.GLUE_CRAWLER_NAME = 'monthly-loan-extract-test-ods';
  ({ handler } = await import('../../functions/get-crawler-state'));
});
beforeEach(() => glueMock.reset());

function poll() {
  return invokeQuietly(handler, event);
}

describe('GetCrawlerState handler', () => {
  it('reports a running crawl as not done', async () => {
    glueMock.on(GetCrawlerCommand, { Name: 'monthly-loan-extract-test-ods' }).resolves({ Crawler: { State: 'RUNNING' } });
    await expect(poll()).resolves.toEqual({ crawlerName: 'monthly-loan-extract-test-ods', state: 'RUNNING', done: false });
  });

  it('reports a finished, successful crawl as done', async () => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } });
    await expect(poll()).resolves.toMatchObject({ done: true });
  });

  it('fails with CrawlerFailed and the crawler\'s message when the crawl failed', async () => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY', LastCrawl: { Status: 'FAILED', ErrorMessage: 'Access denied to ods' } } });
    await expect(poll()).rejects.toMatchObject({ name: 'CrawlerFailed', message: expect.stringContaining('finished FAILED: Access denied to ods') });
  });
});

describe('getCrawlerState', () => {
  const CRAWLER = 'monthly-loan-extract-prod-ods';

  it.each(['RUNNING', 'STOPPING'] as const)('a %s crawler means wait', async (State) => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { Name: CRAWLER, State, LastCrawl: { Status: 'FAILED' } } });
    await expect(getCrawlerState(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, state: State, done: false });
  });

  it('a READY crawler whose last crawl succeeded is done', async () => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { Name: CRAWLER, State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } });
    await expect(getCrawlerState(glue, CRAWLER)).resolves.toEqual({ crawlerName: CRAWLER, state: 'READY', done: true });
  });

  it.each(['FAILED', 'CANCELLED'] as const)('a READY crawler whose last crawl %s fails the run with the crawler\'s message', async (Status) => {
    glueMock.on(GetCrawlerCommand).resolves({
      Crawler: {
        Name: CRAWLER,
        State: 'READY',
        LastCrawl: { Status, ErrorMessage: 'Unable to connect to jdbc:postgresql://ods:5432/ods', LogGroup: '/aws-glue/crawlers', LogStream: CRAWLER },
      },
    });
    await expect(getCrawlerState(glue, CRAWLER)).rejects.toMatchObject({
      name: 'CrawlerFailed',
      message: `Glue crawler ${CRAWLER} finished ${Status}: Unable to connect to jdbc:postgresql://ods:5432/ods (logs: /aws-glue/crawlers/${CRAWLER})`,
    });
  });

  it('a READY crawler that never crawled is an error, not success', async () => {
    glueMock.on(GetCrawlerCommand).resolves({ Crawler: { Name: CRAWLER, State: 'READY' } });
    await expect(getCrawlerState(glue, CRAWLER)).rejects.toMatchObject({ name: 'CrawlerFailed', message: expect.stringContaining('no record of a crawl') });
  });
});
