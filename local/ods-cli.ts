/**
 * `npm run ods -- [--port 5433] [--loans N] [--sample-date YYYY-MM-DD]`: the embedded sample ODS that
 * `npm start` generates (local/ods.ts, the same seed), served to ordinary PostgreSQL clients on
 * 127.0.0.1 until Ctrl-C or SIGTERM, so a person can open with psql the data the numbers came from.
 * Nothing is kept: the database lives in this process's memory. docs/local.md.
 */
import { parseCommandLine, parseCount, parsePort, parseSampleDate, portInUse, reportFailure, stageTimeZone } from './cli-options';
import { DEFAULT_ODS_CONNECTIONS, startSampleOds } from './ods';
import { formatCalendarDate } from '../functions/core/month';
import { DEFAULT_SAMPLE_LOANS } from './sample/generate';

const DEFAULT_PORT = 5433;

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), { port: { type: 'string' }, loans: { type: 'string' }, 'sample-date': { type: 'string' } });
  const port = parsePort(args.port, 'port', DEFAULT_PORT);
  const loans = parseCount(args.loans, 'loans', DEFAULT_SAMPLE_LOANS);
  const today = parseSampleDate(args['sample-date'], new Date(), stageTimeZone());

  console.log(`Embedded sample ODS (PGlite), the sample npm start uses on ${formatCalendarDate(today)}${args.loans ? ` with --loans ${loans}` : ''}: loading…`);
  const ods = await startSampleOds({ loans, today }, { port }).catch(portInUse(port, 'another npm run ods, or a PostgreSQL'));
  const s = ods.summary;
  console.log(`  ${s.banks} banks, ${s.branches} branches, ${s.loans} loans ${s.firstMonth}..${s.lastMonth}`);
  console.log(`  listening: ${new URL(ods.url).host} (user postgres, no password, database postgres; up to ${DEFAULT_ODS_CONNECTIONS} connections, one PostgreSQL session underneath: a client's open transaction holds the others until it ends)`);
  console.log(`  psql:      psql ${ods.url}`);
  console.log(`  npm start: npm start -- --source ${ods.url}`);
  console.log('  Ctrl-C stops it (nothing is kept).');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n  ${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping`);
    void ods.stop().then(() => console.log('  stopped'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(reportFailure);
