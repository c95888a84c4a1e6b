/** GetCrawlerState: one poll of the crawler; a failed or cancelled crawl fails the run with its message. */
import type { GlueApi } from './glue-api';

/** The crawler's last crawl failed or was cancelled: the catalog may not match the ODS. */
export class CrawlerFailedError extends Error {
  override readonly name = 'CrawlerFailed';
}

export interface CrawlerProgress {
  readonly crawlerName: string;
  readonly state: string;
  /** True once the crawl ended well; the state machine moves on. */
  readonly done: boolean;
}

export async function getCrawlerState(glue: GlueApi, crawlerName: string): Promise<CrawlerProgress> {
  const crawler = await glue.getCrawler(crawlerName);
  switch (crawler.state) {
    case 'RUNNING':
    case 'STOPPING':
      return { crawlerName, state: crawler.state, done: false };
    case 'READY':
      break;
    default:
      throw new CrawlerFailedError(`Glue crawler ${crawlerName} is in an unexpected state "${crawler.state}"`);
  }
  const last = crawler.lastCrawl;
  if (last?.status === 'SUCCEEDED') return { crawlerName, state: crawler.state, done: true };
  if (!last) throw new CrawlerFailedError(`Glue crawler ${crawlerName} is READY but has no record of a crawl`);
  const logs = last.logGroup ? ` (logs: ${last.logGroup}${last.logStream ? `/${last.logStream}` : ''})` : '';
  throw new CrawlerFailedError(
    `Glue crawler ${crawlerName} finished ${last.status}: ${last.errorMessage ?? 'no error message given'}${logs}`,
  );
}

