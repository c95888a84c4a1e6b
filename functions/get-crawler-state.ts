/** GetCrawlerState: one poll of the crawler; a failed or cancelled crawl fails the run with its message. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { appendRunKeys, logger } from './commons/powertools/logger';
import { getStringFromEnv } from './core/config';
import { getCrawlerProgress, type CrawlerProgress } from './core/glue-steps';
import type { RunContext } from './core/run-context';

const glue = new SdkGlueApi(glueClient);
const crawlerName = getStringFromEnv('GLUE_CRAWLER_NAME');

export async function functionHandler(event: { run: RunContext }): Promise<CrawlerProgress> {
  appendRunKeys(event.run);
  const progress = await getCrawlerProgress(glue, crawlerName);
  logger.info('Crawler polled', { ...progress });
  return progress;
}

export const handler = middy(functionHandler).use(injectLambdaContext(logger, { clearState: true }));
