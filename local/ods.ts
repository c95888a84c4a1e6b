/**
 * The embedded ODS: PostgreSQL (PGlite) in this process, served over the PostgreSQL wire protocol on
 * a free loopback port, so every consumer uses an ordinary postgres:// URL, exactly as it would with
 * a real server. PGlite is one PostgreSQL session behind the socket: connections take turns, and a
 * connection that opens a transaction holds the others off until it ends.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { withClient } from './postgres';
import { loadSampleOds, type SampleOptions, type SampleSummary } from './sample/generate';

export interface EmbeddedOds {
  /** postgres:// URL of the embedded server on 127.0.0.1. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOdsOptions {
  /** Concurrent connections the socket accepts (the engine, the crawler, a person with psql...). */
  readonly maxConnections?: number;
  /** The loopback port to serve on; 0 (default): a free one. */
  readonly port?: number;
}

/** pglite-socket's own default is one connection: a second client (psql beside a run) would be turned away. */
export const DEFAULT_ODS_CONNECTIONS = 8;

export async function startEmbeddedOds(options: EmbeddedOdsOptions = {}): Promise<EmbeddedOds> {
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: options.port ?? 0, maxConnections: options.maxConnections ?? DEFAULT_ODS_CONNECTIONS });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  return {
    url,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/** Starts the embedded ODS and loads the sample into it. */
export async function startSampleOds(sample: SampleOptions, options: EmbeddedOdsOptions = {}): Promise<EmbeddedOds & { summary: SampleSummary }> {
  const ods = await startEmbeddedOds(options);
  try {
    const summary = await withClient(ods.url, (client) => loadSampleOds(client, sample));
    return { ...ods, summary };
  } catch (error) {
    await ods.stop();
    throw error;
  }
}
