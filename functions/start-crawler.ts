/** StartCrawler: start the Glue crawler over the ODS (core/start-crawler.ts). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { z } from 'zod';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { logger } from './commons/powertools/logger';
import { handlerMetrics, metrics } from './commons/powertools/metrics';
import { validPayload } from './commons/powertools/payload';
import { tracer } from './commons/powertools/tracer';
import { runKeys } from './commons/powertools/run-keys';
import { getStringFromEnv } from './core/config';
import { runPayloadSchema } from './core/run-context';
import { startCrawler, type CrawlerStarted } from './core/start-crawler';

const glue = new SdkGlueApi(glueClient);
const crawlerName = getStringFromEnv('GLUE_CRAWLER_NAME');

export async function functionHandler(_event: z.infer<typeof runPayloadSchema>): Promise<CrawlerStarted> {
  const started = await startCrawler(glue, crawlerName);
  logger.info(started.alreadyRunning ? 'Crawler was already running; waiting for that crawl' : 'Crawler started', { crawlerName });
  return started;
}

export const handler = middy(functionHandler)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics))
  .use(handlerMetrics('StartCrawler'))
  .use(validPayload(runPayloadSchema))
  .use(runKeys());
