/**
 * The engine's COPY … TO STDOUT reader (local/engine/pg-copy-out.ts), on PGlite over the wire
 * protocol and on a real server: the stream gets exactly what PostgreSQL sent, a failed COPY or a
 * failed stream rejects and leaves the connection usable, and a row larger than the reader's buffer
 * arrives whole.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { copyOut } from '../../local/engine/pg-copy-out';
import { withClient } from '../../local/postgres';
import { testDatabases, type TestDatabase } from '../support/databases';

describe.each(testDatabases())('copyOut on %s', (_label, createDatabase) => {
  let database: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    database = await createDatabase();
    dir = await mkdtemp(join(tmpdir(), 'copy-out-'));
    await withClient(database.url, (c) =>
      c.query(`CREATE TABLE t (id int, d date, s text);
        INSERT INTO t SELECT i, DATE '2024-01-31' + i, CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'a,"b"' ELSE '' END
        FROM generate_series(1, 20000) i`),
    );
  });

  afterAll(async () => {
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes every row as PostgreSQL formats it and returns the row count', async () => {
    const file = join(dir, 'rows.csv');
    const rows = await withClient(database.url, async (c) => {
      await c.query('SET DateStyle = ISO, YMD');
      return copyOut(c, 'COPY (SELECT id, d, s FROM t ORDER BY id) TO STDOUT (FORMAT csv)', createWriteStream(file));
    });
    expect(rows).toBe(20_000);
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines).toHaveLength(20_001);
    expect(lines.slice(0, 3)).toEqual(['1,2024-02-01,"a,""b"""', '2,2024-02-02,""', '3,2024-02-03,']);
    expect(lines[20_000]).toBe('');
  });

  it('rejects a failing COPY with PostgreSQL\'s error and leaves the connection usable', async () => {
    await withClient(database.url, async (c) => {
      await expect(copyOut(c, 'COPY (SELECT * FROM no_such_table) TO STDOUT (FORMAT csv)', createWriteStream(join(dir, 'x.csv')))).rejects.toThrow(
        /no_such_table/,
      );
      await expect(copyOut(c, 'SELECT 1', createWriteStream(join(dir, 'y.csv')))).rejects.toThrow(/not a COPY/);
      expect((await c.query('SELECT 42 AS answer')).rows).toEqual([{ answer: 42 }]);
    });
  });

  it('keeps a row larger than its buffer whole', async () => {
    const file = join(dir, 'big.csv');
    const rows = await withClient(database.url, (c) => copyOut(c, "COPY (SELECT 1, repeat('x', 3000000)) TO STDOUT (FORMAT csv)", createWriteStream(file)));
    expect(rows).toBe(1);
    expect(await readFile(file, 'utf8')).toBe(`1,${'x'.repeat(3_000_000)}\n`);
  });

  it("rejects with the stream's error when its reader goes away mid-COPY, and leaves the connection usable", async () => {
    let written = 0;
    const readerGone = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(written > 1 << 20 ? Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) : null);
      },
    });
    await withClient(database.url, async (c) => {
      await expect(copyOut(c, "COPY (SELECT i, repeat('x', 100) FROM generate_series(1, 100000) i) TO STDOUT", readerGone)).rejects.toThrow(
        /EPIPE/,
      );
      expect(written).toBeGreaterThan(1 << 20);
      expect((await c.query('SELECT 42 AS answer')).rows).toEqual([{ answer: 42 }]);
    });
  });
});
