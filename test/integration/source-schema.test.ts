/** A source that does not match the contract's model fails before anything is read, naming what is wrong. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceSchemaError } from '../../functions/core/errors';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { runExtractJob } from '../../local/engine/extract-job';
import { FolderStagingSink } from '../../local/engine/staging-sink';
import { startEmbeddedOds, type EmbeddedOds } from '../../local/ods';
import { withClient } from '../../local/postgres';
import { createOdsSchema } from '../../local/sample/generate';
import { LOAN_FOLDER } from '../support/engine-extracts';

describe('a source that breaks the model', () => {
  let ods: EmbeddedOds;
  let staging: string;

  beforeEach(async () => {
    ods = await startEmbeddedOds();
    await withClient(ods.url, createOdsSchema);
    staging = await mkdtemp(join(tmpdir(), 'extract-schema-'));
  });

  afterEach(async () => {
    await ods.stop();
    await rm(staging, { recursive: true, force: true });
  });

  const run = () =>
    runExtractJob({ extract: LOAN_FOLDER, sourceUrl: ods.url, window: monthWindow(parseMonth('2024-03')), sink: new FolderStagingSink(staging), runId: 't' });

  it.each([
    ['DROP TABLE loans', /table public\.loans does not exist/],
    ['ALTER TABLE loans DROP COLUMN amount', /column public\.loans\.amount does not exist/],
    ['ALTER TABLE loans ALTER COLUMN loan_date TYPE text', /column public\.loans\.loan_date is text; the extract needs date/],
    ['ALTER TABLE loans ALTER COLUMN amount TYPE numeric', /column public\.loans\.amount is numeric; the extract needs integer \(smallint, integer, bigint\)/],
  ])('%s → fails naming it, and stages nothing', async (change, message) => {
    await withClient(ods.url, (c) => c.query(change));
    const failure = run();
    await expect(failure).rejects.toThrow(SourceSchemaError);
    await expect(failure).rejects.toThrow(message);
    expect(await readdir(staging)).toEqual([]);
  });

  it('accepts bigint ids and text names', async () => {
    await withClient(ods.url, (c) => c.query('ALTER TABLE bank ALTER COLUMN idbank TYPE bigint, ALTER COLUMN name TYPE text'));
    await expect(run()).resolves.toMatchObject({ entities: [] });
  });
});
