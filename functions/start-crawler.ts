/** StartCrawler: start the Glue crawler over the ODS; one already running is waited for, not an error. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { appendRunKeys, logger } from './commons/powertools/logger';
import { getStringFromEnv } from './core/config';
import { startCrawler, type CrawlerStarted } from './core/glue-steps';
import type { RunContext } from './core/run-context';

const glue = new SdkGlueApi(glueClient);
const crawlerName = getStringFromEnv('GLUE_CRAWLER_NAME');

export async function functionHandler(event: { run: RunContext }): Promise<CrawlerStarted> {
  appendRunKeys(event.run);
  const started = await startCrawler(glue, crawlerName);
  logger.info(started.alreadyRunning ? 'Crawler was already running; waiting for that crawl' : 'Crawler started', {
    crawlerName,
  });
  return started;
}

export const handler = middy(functionHandler).use(injectLambdaContext(logger, { clearState: true }));
