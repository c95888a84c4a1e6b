/** StartCrawler: start the Glue crawler over the ODS (core/start-crawler.ts). */
import type { z } from 'zod';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
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

export const handler = stepHandler({ step: 'StartCrawler', payload: runPayloadSchema }, functionHandler);
