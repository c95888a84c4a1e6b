/**
 * `COPY … TO STDOUT` through node-postgres, streamed into a writable stream (the engine's: a named
 * pipe that DuckDB reads as the rows arrive).
 *
 * node-postgres runs COPY only through a "submittable" query object that handles the protocol
 * messages itself (what the pg-copy-streams package provides; this is the read half of it, in the
 * engine's own code). PostgreSQL sends one CopyData message per row; each row is copied at once into
 * a 1 MiB buffer (the parser reuses its memory), full buffers are written, and the socket is paused
 * while the stream is behind, so memory stays bounded whatever the table's size.
 */
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { ClientBase } from 'pg';

const CHUNK_BYTES = 1 << 20;

/**
 * Runs `copySql` (a `COPY … TO STDOUT` statement), writes its output to `out` and ends it; resolves
 * to the row count PostgreSQL reports. `out` is destroyed if anything fails, so its reader sees the
 * end of the data either way.
 */
export async function copyOut(pg: ClientBase, copySql: string, out: Writable): Promise<number> {
  const query = new CopyOutQuery(copySql, out);
  // A submittable is typed as a plain query result by @types/pg; the promise is the query's own.
  (pg as unknown as { query(q: CopyOutQuery): void }).query(query);
  try {
    return await query.done;
  } finally {
    if (!out.destroyed) out.destroy();
  }
}

/** Connection members node-postgres gives a submittable: the protocol writer and its socket. */
interface PgConnection {
  query(text: string): void;
  sendCopyFail(message: string): void;
  readonly stream: Socket;
}

class CopyOutQuery {
  readonly done: Promise<number>;
  private resolveDone!: (rows: number) => void;
  private rejectDone!: (error: unknown) => void;
  private settled = false;
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private rows: number | undefined;
  private connection: PgConnection | undefined;
  private paused = false;

  constructor(
    readonly text: string,
    private readonly out: Writable,
  ) {
    this.done = new Promise<number>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    out.on('error', (error) => {
      this.resume();
      this.fail(error);
    });
    out.on('drain', () => this.resume());
  }

  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    if (this.settled) return; // failed: the rest of the data is drained and dropped
    const chunk = message.chunk;
    if (this.used + chunk.length > this.buffer.length) this.flush(chunk.length);
    chunk.copy(this.buffer, this.used);
    this.used += chunk.length;
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)$/.exec(message.text ?? '');
    this.rows = match ? Number(match[1]) : undefined;
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    if (this.rows === undefined) {
      this.fail(new Error(`not a COPY ... TO STDOUT statement: ${this.text.slice(0, 80)}`));
      return;
    }
    const rows = this.rows;
    // Every row is in: write the rest, and never leave the socket paused for the next query.
    this.flush(0);
    this.resume();
    // Resolved once the stream has taken the last byte; a reader that went away fails it (EPIPE).
    this.out.end((error?: Error | null) => {
      if (error) {
        this.fail(error);
        return;
      }
      if (this.settled) return;
      this.settled = true;
      this.resolveDone(rows);
    });
  }

  /** node-postgres calls this for an ErrorResponse, and sends no ReadyForQuery to the query afterwards. */
  handleError(error: unknown): void {
    this.resume();
    this.fail(error);
  }

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('copyOut only reads');
  }

  // Messages a COPY TO STDOUT never produces; node-postgres may still call the handlers.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  private flush(nextChunk: number): void {
    if (this.used > 0) {
      const full = this.buffer.subarray(0, this.used);
      this.buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, nextChunk));
      this.used = 0;
      if (!this.out.write(full) && !this.paused && this.connection) {
        this.paused = true;
        this.connection.stream.pause();
      }
    } else if (nextChunk > this.buffer.length) {
      this.buffer = Buffer.allocUnsafe(nextChunk);
    }
  }

  private resume(): void {
    if (this.paused && this.connection) {
      this.paused = false;
      this.connection.stream.resume();
    }
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectDone(error);
  }
}
