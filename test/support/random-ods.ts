/**
 * Seeded random ODS data for the parity test: every kind of bad row the contract mentions (NULLs,
 * references that resolve to nothing), negative and near-2^31 amounts, banks without branches, and
 * text that needs CSV quoting. Foreign key and unique constraints are dropped first, as a real ODS may not enforce them.
 */
import type { ClientBase } from 'pg';
import { insertRowsByUnnest } from '../../local/postgres';
import { createOdsSchema } from '../../local/sample/generate';
import { seededRandom, type Random } from '../../local/sample/random';

export async function loadRandomOds(client: ClientBase, seed: string, loans: number): Promise<void> {
  const random = seededRandom(seed);
  await createOdsSchema(client);
  await client.query(`DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint WHERE contype IN ('f', 'u') AND connamespace = 'public'::regnamespace LOOP
      EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
    END LOOP; END $$`);

  const bankNames = ['First National Bank', 'Société Générale', 'Bank "Twelve", Ltd', 'Ubuntu\nMutual', 'Empty Bank'];
  await insertRowsByUnnest(client, 'bank', ['idbank int', 'name varchar', 'capitalization int'],
    bankNames.map((name, i) => [i + 1, name, random.int(0, 2_000_000_000)]));

  const branches: unknown[][] = [];
  for (let id = 1; id <= 20; id++) {
    // Bank 5 gets no branches; a few branches point at no bank or a missing one.
    const bank = choose(random, [[0.05, null], [0.05, 99]], () => random.int(1, 4));
    branches.push([id, bank, choose(random, [[0.1, null]], () => address(random))]);
  }
  await insertRowsByUnnest(client, 'branch', ['idbranch int', 'bank_idbank int', 'address varchar'], branches);

  const clients = 200;
  await insertRowsByUnnest(client, 'client', ['idclient int', 'name varchar', 'surname varchar', 'branch_idbranch int'],
    range(clients).map((id) => [id, 'Name', 'Surname', choose(random, [[0.03, null], [0.02, 999]], () => random.int(1, 20))]));
  await insertRowsByUnnest(client, 'account', ['idaccount int', 'balance int', 'client_idclient int', 'open_date date'],
    range(clients).map((id) => [id, 0, choose(random, [[0.03, null], [0.02, 9_999]], () => id), '2020-01-01']));

  const loanRows = range(loans).map((id) => [id, amount(random), choose(random, [[0.01, null]], () => random.int(1, clients + 5)), loanDate(random)]);
  // A branch with only reversals, so negative averages (rounded away from zero) are compared too.
  await insertRowsByUnnest(client, 'branch', ['idbranch int', 'bank_idbank int', 'address varchar'], [[21, 1, 'Reversals desk']]);
  await insertRowsByUnnest(client, 'client', ['idclient int', 'name varchar', 'surname varchar', 'branch_idbranch int'], [[clients + 1, 'Name', 'Surname', 21]]);
  await insertRowsByUnnest(client, 'account', ['idaccount int', 'balance int', 'client_idclient int', 'open_date date'], [[clients + 1, 0, clients + 1, '2020-01-01']]);
  loanRows.push([loans + 1, -1, clients + 1, '2024-01-15'], [loans + 2, -4, clients + 1, '2024-02-29']);
  await insertRowsByUnnest(client, 'loans', ['idloan int', 'amount int', 'account_idaccount int', 'loan_date date'], loanRows);
}

function amount(random: Random): number | null {
  const roll = random.next();
  if (roll < 0.02) return null;
  if (roll < 0.05) return -random.int(1, 50_000);
  if (roll < 0.1) return random.int(2_000_000_000, 2_147_483_647);
  return random.int(0, 3_000_000);
}

function loanDate(random: Random): string | null {
  if (random.next() < 0.02) return null;
  const year = random.int(2023, 2025);
  const month = random.int(1, 12);
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  // Month edges are where off-by-one bugs live: favour the first and last day.
  const day = random.pick([1, lastDay, random.int(1, lastDay)]);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function address(random: Random): string {
  return random.pick(['1 Main Road', '2 Long Street, Cape Town', 'Shop 3, "The Grove"', 'Line one\nLine two', 'Rue de l’Église', ' padded ', '']);
}

/** One of the listed values with its probability, else `otherwise()`. */
function choose<T>(random: Random, outcomes: [number, T][], otherwise: () => T): T {
  let roll = random.next();
  for (const [probability, value] of outcomes) {
    if (roll < probability) return value;
    roll -= probability;
  }
  return otherwise();
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}
