/**
 * Loads a realistic, deterministic sample ODS into any PostgreSQL (the embedded one or a real server):
 * three banks, about ten branches each, clients with one account each, and loans spread over the 24
 * complete months before `today`. The same seed and day give the same rows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientBase } from 'pg';
import { addMonths, daysInMonth, formatMonth, type CalendarDate, type ExtractMonth } from '../../functions/core/month';
import { insertRowsByUnnest } from '../postgres';
import { seededRandom, type Random } from './random';

export interface SampleOptions {
  /** Number of loans to generate. */
  readonly loans: number;
  /** The loans cover the 24 complete months before this day. */
  readonly today: CalendarDate;
  /** Mixed into the seed; the default makes "same day, same data". */
  readonly seed?: string;
}

export interface SampleSummary {
  readonly banks: number;
  readonly branches: number;
  readonly clients: number;
  readonly loans: number;
  readonly firstMonth: string;
  readonly lastMonth: string;
}

export const SAMPLE_HISTORY_MONTHS = 24;
export const DEFAULT_SAMPLE_LOANS = 100_000;

const BANKS = [
  { name: 'First National Bank', capitalization: 1_900_000_000 },
  { name: 'Nedbank', capitalization: 1_250_000_000 },
  { name: 'Société Générale', capitalization: 2_100_000_000 },
];
export const STREETS = ['Main Road', 'Jan Smuts Avenue', 'Rivonia Road', 'Long Street', 'Church Street', 'Oxford Road',
  'Voortrekker Road', 'Florida Road', 'Nelson Mandela Drive', 'Beach Road', 'Kerk Street', 'Louis Botha Avenue'];
export const TOWNS = ['Sandton', 'Rosebank', 'Cape Town', 'Durban', 'Pretoria', 'Bloemfontein', 'Gqeberha', 'Stellenbosch',
  'Polokwane', 'Mbombela', 'East London', 'Soweto', 'Umhlanga', 'Pietermaritzburg'];
export const MALLS = ['The Grove', 'Menlyn Park', 'Gateway', 'Canal Walk', 'Mall of Africa', 'Maponya Mall'];
export const FIRST_NAMES = ['Thabo', 'Naledi', 'Sipho', 'Anele', 'Johan', 'Annelie', 'Pieter', 'Zanele', 'Lerato', 'Mohammed',
  'Priya', 'David', 'Nomvula', 'Kagiso', 'Chloé', 'René', "D'Arcy", 'Lindiwe', 'Sarah', 'Themba'];
export const SURNAMES = ['Nkosi', 'Dlamini', 'van der Merwe', 'Botha', 'Naidoo', 'Mokoena', 'Smith', 'Khumalo', 'Pillay',
  'Ndlovu', 'Jacobs', 'du Plessis', "O'Connor", 'Mahlangu', 'Coetzee', 'Müller'];
export const POSITIONS = ['Branch Manager', 'Teller', 'Loan Officer', 'Customer Service Consultant', 'Credit Analyst'];

export async function createOdsSchema(client: ClientBase): Promise<void> {
  await client.query(readFileSync(join(__dirname, 'ods-schema.sql'), 'utf8'));
}

/** Creates the ODS tables and fills them. Refuses a database that already has a `bank` table. */
export async function loadSampleOds(client: ClientBase, options: SampleOptions): Promise<SampleSummary> {
  if (!Number.isInteger(options.loans) || options.loans < 0) {
    throw new Error(`loans must be a whole number >= 0, got ${options.loans}`);
  }
  const existing = await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'bank'");
  if (existing.rowCount) {
    throw new Error('the database already has a public.bank table; the sample only loads into an empty database');
  }
  const today = options.today;
  const seed = options.seed ?? `${today.year}-${today.month}-${today.day}`;
  const random = seededRandom(`sample-ods:${seed}:${options.loans}`);
  const lastMonth = addMonths({ year: today.year, month: today.month }, -1);
  const firstMonth = addMonths(lastMonth, -(SAMPLE_HISTORY_MONTHS - 1));

  await client.query('BEGIN');
  try {
    await createOdsSchema(client);
    const branches = await insertBanksAndBranches(client, random);
    const clientBranches = await insertClientsAndAccounts(client, random, branches, Math.max(branches.length * 5, Math.round(options.loans / 4)));
    await insertLoans(client, random, clientBranches.length, options.loans, firstMonth);
    await client.query('COMMIT');
    await client.query('ANALYZE');
    return {
      banks: BANKS.length,
      branches: branches.length,
      clients: clientBranches.length,
      loans: options.loans,
      firstMonth: formatMonth(firstMonth),
      lastMonth: formatMonth(lastMonth),
    };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

interface SampleBranch {
  readonly id: number;
  /** Relative loan volume, so branches' averages differ. */
  readonly weight: number;
}

async function insertBanksAndBranches(client: ClientBase, random: Random): Promise<SampleBranch[]> {
  const branches: SampleBranch[] = [];
  const branchRows: [number, number, string][] = [];
  const workerRows: [number, string, string, number, string][] = [];
  for (const [index, bank] of BANKS.entries()) {
    const bankId = index + 1;
    await client.query('INSERT INTO bank (idbank, name, capitalization) VALUES ($1, $2, $3)', [bankId, bank.name, bank.capitalization]);
    const branchCount = random.int(9, 11);
    for (let b = 0; b < branchCount; b++) {
      const id = bankId * 100 + b + 1;
      branchRows.push([id, bankId, randomAddress(random)]);
      // The last branch of each bank is new: it has no clients, so it must still appear, with zeros.
      branches.push({ id, weight: b === branchCount - 1 ? 0 : 1 + random.int(0, 4) });
      for (let w = 0; w < random.int(3, 8); w++) {
        workerRows.push([id * 100 + w, random.pick(FIRST_NAMES), random.pick(SURNAMES), id, w === 0 ? POSITIONS[0]! : random.pick(POSITIONS)]);
      }
    }
  }
  await insertRowsByUnnest(client, 'branch', ['idbranch int', 'bank_idbank int', 'address varchar'], branchRows);
  await insertRowsByUnnest(client, 'worker', ['idworker int', 'name varchar', 'surname varchar', 'branch_idbranch int', 'position varchar'], workerRows);
  return branches;
}

function randomAddress(random: Random): string {
  const number = random.int(1, 480);
  const street = random.pick(STREETS);
  const town = random.pick(TOWNS);
  // Commas and double quotes occur in real addresses; the CSV must quote them.
  if (random.next() < 0.2) return `Shop ${random.int(1, 90)}, "${random.pick(MALLS)}", ${street}, ${town}`;
  return `${number} ${street}, ${town}, ${random.int(1000, 9999)}`;
}

/** Returns, per client (index = id - 1), the branch it belongs to. */
async function insertClientsAndAccounts(client: ClientBase, random: Random, branches: SampleBranch[], count: number): Promise<number[]> {
  const weighted = branches.flatMap((b) => Array<number>(b.weight).fill(b.id));
  const clientBranches: number[] = [];
  const clientRows: [number, string, string, number][] = [];
  const accountRows: [number, number, number, string][] = [];
  for (let id = 1; id <= count; id++) {
    const branchId = random.pick(weighted);
    clientBranches.push(branchId);
    clientRows.push([id, random.pick(FIRST_NAMES), random.pick(SURNAMES), branchId]);
    const opened = `${random.int(2005, 2020)}-${String(random.int(1, 12)).padStart(2, '0')}-${String(random.int(1, 28)).padStart(2, '0')}`;
    accountRows.push([id, random.int(0, 500_000), id, opened]);
  }
  await insertRowsByUnnest(client, 'client', ['idclient int', 'name varchar', 'surname varchar', 'branch_idbranch int'], clientRows);
  await insertRowsByUnnest(client, 'account', ['idaccount int', 'balance int', 'client_idclient int', 'open_date date'], accountRows);
  return clientBranches;
}

async function insertLoans(client: ClientBase, random: Random, accounts: number, count: number, firstMonth: ExtractMonth): Promise<void> {
  let batch: [number, number | null, number, string | null][] = [];
  for (let id = 1; id <= count; id++) {
    const month = addMonths(firstMonth, random.int(0, SAMPLE_HISTORY_MONTHS - 1));
    const day = random.int(1, daysInMonth(month));
    const date = `${formatMonth(month)}-${String(day).padStart(2, '0')}`;
    // Loan sizes from R5 000 to about R2 million, most of them small.
    const amount = Math.round(5_000 * Math.pow(400, random.next() ** 2));
    // The ODS promises no NULLs; a few bad rows show up in the manifest's rejected counts.
    const quality = random.next();
    batch.push([id, quality < 0.0003 ? null : amount, random.int(1, accounts), quality > 0.9998 ? null : date]);
    if (batch.length === 10_000) {
      await insertRowsByUnnest(client, 'loans', ['idloan int', 'amount int', 'account_idaccount int', 'loan_date date'], batch);
      batch = [];
    }
  }
  if (batch.length > 0) await insertRowsByUnnest(client, 'loans', ['idloan int', 'amount int', 'account_idaccount int', 'loan_date date'], batch);
}
