/**
 * `npm start` / `npm run extract`: the monthly extract on this machine, on the embedded sample ODS
 * (or a real PostgreSQL with --source). Runs the extract job (glue/sql on DuckDB) for the month and
 * leaves its staging output under the data dir.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { formatMonth, monthWindow, resolveExtractMonth, calendarDateIn } from '../functions/core/month';
import { stagingPrefixFor } from '../functions/core/run-context';
import { parseCommandLine, parseCount, parsePostgresUrl, redactUrl, reportFailure } from './cli-options';
import { runExtractJob } from './engine/extract-job';
import { FolderStagingSink } from './engine/staging-sink';
import { startSampleOds } from './ods';
import { DEFAULT_SAMPLE_LOANS } from './sample/generate';

const TIME_ZONE = process.env.STAGE_TIME_ZONE ?? 'Africa/Johannesburg';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), {
    month: { type: 'string' },
    source: { type: 'string' },
    'data-dir': { type: 'string' },
    loans: { type: 'string' },
  });
  const now = new Date();
  const month = resolveExtractMonth(args.month, now, TIME_ZONE);
  const window = monthWindow(month);
  const loans = parseCount(args.loans, 'loans', DEFAULT_SAMPLE_LOANS);
  const dataDir = resolve(args['data-dir'] ?? '.local');
  const sourceUrl = parsePostgresUrl(args.source, 'source');

  console.log(`Monthly loan extract for ${window.month} (window ${window.windowStart} to ${window.windowEnd}, exclusive)`);
  const started = Date.now();
  const ods = sourceUrl ? undefined : await startSampleOds({ loans, today: calendarDateIn(now, TIME_ZONE) });
  if (ods) {
    const s = ods.summary;
    console.log(`  sample ODS: ${s.banks} banks, ${s.branches} branches, ${s.clients} clients, ${s.loans} loans ${s.firstMonth}..${s.lastMonth} (${seconds(started)})`);
  }
  try {
    const url = sourceUrl ?? ods!.url;
    console.log(`  source: ${redactUrl(url)}`);
    const runId = randomUUID();
    const stagingFolder = resolve(dataDir, ...stagingPrefixFor(formatMonth(month), runId).split('/'));
    const jobStarted = Date.now();
    const result = await runExtractJob({ sourceUrl: url, window, sink: new FolderStagingSink(stagingFolder), runId });
    console.log(`  extract job: ${seconds(jobStarted)}`);
    console.log(`  rows read from the ODS: ${result.sourceRows.map((r) => `${r.table} ${r.row_count}`).join(', ')}`);
    console.log(`  loans not counted: ${result.rejected.length ? result.rejected.map((r) => `${r.reason} ${r.loan_count}`).join(', ') : 'none'}`);
    for (const bank of result.banks) {
      const part = result.parts.find((p) => p.bankId === bank.bank_id);
      console.log(`  ${bank.bank_name}: ${part ? `${part.rows} branch rows → ${part.key}` : 'no branches (header-only file)'}`);
    }
    console.log(`\n✔ staged under ${stagingFolder}`);
  } finally {
    await ods?.stop();
  }
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

main().catch(reportFailure);
