/** GetCrawlerState: one poll of the crawler (core/get-crawler-state.ts). */
import type { z } from 'zod';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { getStringFromEnv } from './core/config';
import { getCrawlerState, type CrawlerProgress } from './core/get-crawler-state';
import { runPayloadSchema } from './core/run-context';

const glue = new SdkGlueApi(glueClient);
const crawlerName = getStringFromEnv('GLUE_CRAWLER_NAME');

export async function functionHandler(_event: z.infer<typeof runPayloadSchema>): Promise<CrawlerProgress> {
  const progress = await getCrawlerState(glue, crawlerName);
  logger.info('Crawler polled', { ...progress });
  return progress;
}

export const handler = stepHandler({ step: 'GetCrawlerState', payload: runPayloadSchema }, functionHandler);
