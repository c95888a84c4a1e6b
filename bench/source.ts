/**
 * The benchmark's source: a realistic ODS generated inside PostgreSQL with generate_series (10M loans
 * in about a minute, where the sample generator's row-by-row JavaScript would take most of an hour),
 * one database per (size, history), cached between runs.
 *
 * The shape follows local/sample/generate.ts at scale: three banks and about 300 branches, the last
 * branch of each bank new and without clients (a row of zeros), addresses that need CSV quoting,
 * clients with one account each, loan sizes from R5 000 to about R2 million (most small), and a few
 * loans with a NULL amount or date. The schema is local/sample/ods-schema.sql, with its loan_date index.
 *
 * What the benchmark varies, and why it is modelled this way:
 * - `loansPer36Months` (N) is the size of the bank: N loans every 36 months, N / 4 clients. The
 *   72-month source is the same bank keeping twice the history: 2N loans, the same clients. So the
 *   3-month window holds the same loans at 36 and 72 months, and the 72/36 ratio shows what history
 *   alone costs.
 * - Loans are inserted in the order they are made (idloan grows with loan_date, as an ODS appends
 *   them), with 2% entered late (back-dated up to 40 days), so the table is mostly but not perfectly
 *   in loan_date order, as a real one is.
 * - Values come from a hash of the row id, not random(): the same parameters give the same rows on
 *   every machine, whatever plan PostgreSQL picks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientBase } from 'pg';
import { addMonths, daysInMonth, formatMonth, type ExtractMonth } from '../functions/core/month';
import { withClient } from '../local/postgres';
import { FIRST_NAMES, MALLS, POSITIONS, STREETS, SURNAMES, TOWNS } from '../local/sample/generate';

/** Bump when the generated data changes, so cached databases are rebuilt. */
export const GENERATOR_VERSION = 1;

export interface SourceSpec {
  /** Loans per 36 months of history: the bank's size. */
  readonly loansPer36Months: number;
  /** Months of loan history, ending at `lastMonth`. */
  readonly months: number;
  /** The last month with loans (the last complete month when generated); the bench extracts it. */
  readonly lastMonth: ExtractMonth;
}

export interface SourceCounts {
  readonly banks: number;
  readonly branches: number;
  readonly clients: number;
  readonly accounts: number;
  readonly loans: number;
  readonly loansNullDate: number;
  /** Loans with loan_date in the extract month's window. */
  readonly loansInWindow: number;
  /** Size of the loans table with its indexes, bytes. */
  readonly loansTableBytes: number;
}

export interface GeneratedSource {
  readonly databaseName: string;
  readonly url: string;
  readonly spec: SourceSpec;
  readonly firstMonth: string;
  readonly counts: SourceCounts;
  /** Whether this run generated it (false: reused from an earlier run). */
  readonly generated: boolean;
  readonly generateMs: number;
}

export const BANKS: readonly { readonly name: string; readonly capitalization: number; readonly branches: number }[] = [
  { name: 'First National Bank', capitalization: 1_900_000_000, branches: 110 },
  { name: 'Nedbank', capitalization: 1_250_000_000, branches: 90 },
  { name: 'Société Générale', capitalization: 2_100_000_000, branches: 100 },
];

/** Clients per loan over 36 months (the sample has one client per four loans). */
const CLIENTS_PER_LOAN = 0.25;
const LOAN_CHUNK = 1_000_000;

export function loanCount(spec: Pick<SourceSpec, 'loansPer36Months' | 'months'>): number {
  return Math.round((spec.loansPer36Months * spec.months) / 36);
}

export function clientCount(spec: Pick<SourceSpec, 'loansPer36Months'>): number {
  return Math.max(BANKS.length * 10, Math.round(spec.loansPer36Months * CLIENTS_PER_LOAN));
}

/** `loan_bench_1m_36`: one database per (size, history). */
export function databaseName(spec: Pick<SourceSpec, 'loansPer36Months' | 'months'>): string {
  return `loan_bench_${sizeLabel(spec.loansPer36Months).toLowerCase()}_${spec.months}`;
}

/** 1000000 → "1M", 250000 → "250k". */
export function sizeLabel(n: number): string {
  if (n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}

/** The first day of the history and its length in days. */
export function historyDays(spec: Pick<SourceSpec, 'months' | 'lastMonth'>): { firstMonth: ExtractMonth; firstDay: string; days: number } {
  const firstMonth = addMonths(spec.lastMonth, -(spec.months - 1));
  let days = 0;
  for (let i = 0; i < spec.months; i++) days += daysInMonth(addMonths(firstMonth, i));
  return { firstMonth, firstDay: `${formatMonth(firstMonth)}-01`, days };
}

/** Returns the cached source for `spec` if it is complete and of this generator version, else generates it. */
export async function ensureSource(adminUrl: string, spec: SourceSpec, log: (line: string) => void): Promise<GeneratedSource> {
  const name = databaseName(spec);
  const url = databaseUrl(adminUrl, name);
  const exists = await withClient(adminUrl, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
  if (exists) {
    const marker = await withClient(url, readMarker);
    if (marker && marker.version === GENERATOR_VERSION && marker.loansPer36Months === spec.loansPer36Months && marker.months === spec.months) {
      log(`  ${name}: reusing (generated ${marker.generatedAt}, last month ${marker.lastMonth})`);
      const reused: SourceSpec = { ...spec, lastMonth: parseYearMonth(marker.lastMonth) };
      return {
        databaseName: name,
        url,
        spec: reused,
        firstMonth: formatMonth(historyDays(reused).firstMonth),
        counts: await withClient(url, (c) => countSource(c, reused)),
        generated: false,
        generateMs: 0,
      };
    }
    log(`  ${name}: stale or incomplete, dropping`);
    await withClient(adminUrl, (c) => c.query(`DROP DATABASE ${name} WITH (FORCE)`));
  }
  const started = performance.now();
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  await withClient(url, (c) => generateSource(c, spec, log));
  const generateMs = performance.now() - started;
  log(`  ${name}: generated in ${(generateMs / 1000).toFixed(1)} s`);
  return {
    databaseName: name,
    url,
    spec,
    firstMonth: formatMonth(historyDays(spec).firstMonth),
    counts: await withClient(url, (c) => countSource(c, spec)),
    generated: true,
    generateMs,
  };
}

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

interface Marker {
  readonly version: number;
  readonly loansPer36Months: number;
  readonly months: number;
  readonly lastMonth: string;
  readonly generatedAt: string;
}

async function readMarker(client: ClientBase): Promise<Marker | null> {
  const table = await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'bench' AND table_name = 'generator'");
  if (!table.rowCount) return null;
  const { rows } = await client.query<{ version: number; loans_per_36_months: string; months: number; last_month: string; generated_at: Date }>(
    'SELECT version, loans_per_36_months, months, last_month, generated_at FROM bench.generator',
  );
  const row = rows[0];
  if (!row) return null;
  return {
    version: row.version,
    loansPer36Months: Number(row.loans_per_36_months),
    months: row.months,
    lastMonth: row.last_month,
    generatedAt: row.generated_at.toISOString(),
  };
}

function parseYearMonth(text: string): ExtractMonth {
  const [year, month] = text.split('-').map(Number);
  return { year: year!, month: month! };
}

/** A uniform value in [0, 1) from row id `i` and stream `k`: deterministic, and inlined by the planner. */
const UNIFORM_FUNCTION = `CREATE FUNCTION bench.u(i bigint, k bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (hashint8extended(i, k) & 2147483647)::float8 / 2147483648.0 $$`;

const sqlArray = (items: readonly string[]) => `ARRAY[${items.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ')}]`;
const pick = (items: readonly string[], id: string, stream: number) => `(${sqlArray(items)})[1 + floor(bench.u(${id}, ${stream}) * ${items.length})::int]`;

// The same names as the sample ODS, so addresses and names carry the same traps (quotes, commas, accents).

/** Creates the ODS schema and the bench marker in an empty database and fills them. */
export async function generateSource(client: ClientBase, spec: SourceSpec, log: (line: string) => void = () => undefined): Promise<void> {
  const loans = loanCount(spec);
  const clients = clientCount(spec);
  const { firstDay, days } = historyDays(spec);
  await client.query("SET synchronous_commit = off; SET maintenance_work_mem = '1GB'");
  await client.query('CREATE SCHEMA bench');
  await client.query(UNIFORM_FUNCTION);
  await client.query(readFileSync(join(__dirname, '..', 'local', 'sample', 'ods-schema.sql'), 'utf8'));
  // Constraints and indexes are dropped for the load and rebuilt after it: the same schema, built in
  // minutes instead of hours of per-row index and foreign key maintenance.
  const rebuild = await dropConstraintsAndIndexes(client);

  const banks = BANKS.map((b, i) => `(${i + 1}, '${b.name.replace(/'/g, "''")}', ${b.capitalization})`).join(', ');
  await client.query(`INSERT INTO bank (idbank, name, capitalization) VALUES ${banks}`);
  const branchCounts = `ARRAY[${BANKS.map((b) => b.branches).join(', ')}]`;
  await client.query(`CREATE TABLE bench.branch_weight AS
    SELECT b.idbank * 1000 + k AS idbranch, b.idbank,
      -- The last branch of each bank is new: no clients, so a row of zeros in the extract.
      CASE WHEN k = (${branchCounts})[b.idbank] THEN 0 ELSE 1 + floor(bench.u(b.idbank * 1000 + k, 3) * 5)::int END AS weight
    FROM bank b CROSS JOIN LATERAL generate_series(1, (${branchCounts})[b.idbank]) k`);
  await client.query(`INSERT INTO branch (idbranch, bank_idbank, address)
    SELECT idbranch, idbank,
      CASE WHEN bench.u(idbranch, 1) < 0.2
        -- Commas and double quotes occur in real addresses; the CSV must quote them.
        THEN 'Shop ' || (1 + floor(bench.u(idbranch, 2) * 90)::int) || ', "' || ${pick(MALLS, 'idbranch', 4)} || '", '
             || ${pick(STREETS, 'idbranch', 5)} || ', ' || ${pick(TOWNS, 'idbranch', 6)}
        ELSE (1 + floor(bench.u(idbranch, 2) * 480)::int) || ' ' || ${pick(STREETS, 'idbranch', 5)} || ', '
             || ${pick(TOWNS, 'idbranch', 6)} || ', ' || (1000 + floor(bench.u(idbranch, 7) * 9000)::int)
      END
    FROM bench.branch_weight`);
  await client.query(`INSERT INTO worker (idworker, name, surname, branch_idbranch, position)
    SELECT idbranch * 100 + w, ${pick(FIRST_NAMES, 'idbranch * 100 + w', 8)}, ${pick(SURNAMES, 'idbranch * 100 + w', 9)}, idbranch,
      CASE WHEN w = 0 THEN '${POSITIONS[0]}' ELSE ${pick(POSITIONS, 'idbranch * 100 + w', 10)} END
    FROM bench.branch_weight CROSS JOIN LATERAL generate_series(0, 2 + floor(bench.u(idbranch, 11) * 6)::int) w`);
  log(`    ${BANKS.length} banks, ${BANKS.reduce((s, b) => s + b.branches, 0)} branches; ${clients} clients and accounts...`);

  // Clients are spread over branches by weight: the weighted list is a one-row CTE.
  await client.query(`INSERT INTO client (idclient, name, surname, branch_idbranch)
    WITH weighted AS (SELECT array_agg(idbranch ORDER BY idbranch, n) AS ids FROM bench.branch_weight CROSS JOIN LATERAL generate_series(1, weight) n)
    SELECT i, ${pick(FIRST_NAMES, 'i', 12)}, ${pick(SURNAMES, 'i', 13)}, weighted.ids[1 + floor(bench.u(i, 14) * cardinality(weighted.ids))::int]
    FROM generate_series(1, ${clients}) i CROSS JOIN weighted`);
  await client.query(`INSERT INTO account (idaccount, balance, client_idclient, open_date)
    SELECT i, floor(bench.u(i, 21) * 500001)::int, i, DATE '2005-01-01' + floor(bench.u(i, 22) * 5844)::int
    FROM generate_series(1, ${clients}) i`);

  for (let start = 1; start <= loans; start += LOAN_CHUNK) {
    const end = Math.min(loans, start + LOAN_CHUNK - 1);
    log(`    loans ${start}..${end} of ${loans}`);
    // Day of the history grows with the id (loans are appended as they are made); 2% are entered
    // late, back-dated 1 to 40 days. 0.03% have no amount, 0.02% no date, as in the sample.
    await client.query(`INSERT INTO loans (idloan, amount, account_idaccount, loan_date)
      SELECT i,
        CASE WHEN q < 0.0003 THEN NULL ELSE round(5000 * power(400, a * a))::int END,
        1 + floor(bench.u(i, 33) * ${clients})::int,
        CASE WHEN q > 0.9998 THEN NULL
          ELSE DATE '${firstDay}' + greatest(0, floor((i - 1)::float8 * ${days} / ${loans})::int
            - CASE WHEN bench.u(i, 34) < 0.02 THEN 1 + floor(bench.u(i, 35) * 40)::int ELSE 0 END)
        END
      FROM (SELECT i, bench.u(i, 31) AS q, bench.u(i, 32) AS a FROM generate_series(${start}::bigint, ${end}::bigint) i) s`);
  }
  log('    constraints, indexes, VACUUM ANALYZE...');
  for (const statement of rebuild) await client.query(statement);
  await client.query('DROP TABLE bench.branch_weight');
  await client.query('VACUUM (ANALYZE)');
  await client.query(`CREATE TABLE bench.generator AS SELECT
    ${GENERATOR_VERSION} AS version, ${spec.loansPer36Months}::bigint AS loans_per_36_months, ${spec.months} AS months,
    '${formatMonth(spec.lastMonth)}'::text AS last_month, now() AS generated_at`);
}

/** Drops the public schema's constraints and plain indexes; returns the statements that rebuild them. */
async function dropConstraintsAndIndexes(client: ClientBase): Promise<string[]> {
  const constraints = await client.query<{ tbl: string; conname: string; def: string; contype: string }>(
    `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def, contype
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f')`,
  );
  const indexes = await client.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
        AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace)`,
  );
  const foreignLast = (a: { contype: string }, b: { contype: string }) => Number(a.contype === 'f') - Number(b.contype === 'f');
  for (const c of [...constraints.rows].sort(foreignLast).reverse()) await client.query(`ALTER TABLE ${c.tbl} DROP CONSTRAINT ${c.conname}`);
  for (const i of indexes.rows) await client.query(`DROP INDEX public.${i.indexname}`);
  return [
    ...[...constraints.rows].sort(foreignLast).map((c) => `ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.conname} ${c.def}`),
    ...indexes.rows.map((i) => i.indexdef),
  ];
}

export async function countSource(client: ClientBase, spec: SourceSpec): Promise<SourceCounts> {
  const lastMonth = spec.lastMonth;
  const windowStart = `${formatMonth(addMonths(lastMonth, -2))}-01`;
  const windowEnd = `${formatMonth(addMonths(lastMonth, 1))}-01`;
  const { rows } = await client.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM bank) AS banks, (SELECT count(*) FROM branch) AS branches,
       (SELECT count(*) FROM client) AS clients, (SELECT count(*) FROM account) AS accounts,
       (SELECT count(*) FROM loans) AS loans, (SELECT count(*) FROM loans WHERE loan_date IS NULL) AS loans_null_date,
       (SELECT count(*) FROM loans WHERE loan_date >= $1 AND loan_date < $2) AS loans_in_window,
       pg_total_relation_size('public.loans') AS loans_table_bytes`,
    [windowStart, windowEnd],
  );
  const r = rows[0]!;
  return {
    banks: Number(r.banks),
    branches: Number(r.branches),
    clients: Number(r.clients),
    accounts: Number(r.accounts),
    loans: Number(r.loans),
    loansNullDate: Number(r.loans_null_date),
    loansInWindow: Number(r.loans_in_window),
    loansTableBytes: Number(r.loans_table_bytes),
  };
}
