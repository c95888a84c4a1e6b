/**
 * `npm run seed -- --source postgres://... [--loans N]`: loads the sample ODS into a real, empty
 * PostgreSQL database, so the extract (or a person with psql) can be pointed at it.
 */
import { calendarDateIn } from '../functions/core/month';
import { InvalidInputError } from '../functions/core/errors';
import { parseCommandLine, parseCount, parsePostgresUrl, redactUrl, reportFailure } from './cli-options';
import { withClient } from './postgres';
import { DEFAULT_SAMPLE_LOANS, loadSampleOds } from './sample/generate';

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), { source: { type: 'string' }, loans: { type: 'string' } });
  const url = parsePostgresUrl(args.source, 'source');
  if (!url) throw new InvalidInputError('source', 'is required: the postgres:// URL of an empty database');
  const loans = parseCount(args.loans, 'loans', DEFAULT_SAMPLE_LOANS);
  const today = calendarDateIn(new Date(), process.env.STAGE_TIME_ZONE ?? 'Africa/Johannesburg');
  const summary = await withClient(url, (client) => loadSampleOds(client, { loans, today }));
  console.log(`Loaded into ${redactUrl(url)}: ${JSON.stringify(summary)}`);
}

main().catch(reportFailure);
