/** StartCrawler: start the Glue crawler over the ODS; one already running is waited for, not an error. */
import type { GlueApi } from './glue-api';

export interface CrawlerStarted {
  readonly crawlerName: string;
  readonly alreadyRunning: boolean;
}

export async function startCrawler(glue: GlueApi, crawlerName: string): Promise<CrawlerStarted> {
  const started = await glue.startCrawler(crawlerName);
  return { crawlerName, alreadyRunning: started === 'already-running' };
}

