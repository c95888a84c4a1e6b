import { Client, type ClientBase } from 'pg';

/** Runs `work` with a connected client and always closes it. */
export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** One INSERT per batch through unnest(): fast on any PostgreSQL, with no SQL built from data. */
export async function insertRowsByUnnest(
  client: ClientBase,
  table: string,
  /** `name type` pairs, e.g. `idloan int`. */
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  for (let start = 0; start < rows.length; start += 10_000) {
    const chunk = rows.slice(start, start + 10_000);
    const names = columns.map((c) => c.split(' ')[0]);
    const arrays = columns.map((_, i) => chunk.map((row) => row[i]));
    const unnest = columns.map((c, i) => `$${i + 1}::${c.split(' ')[1]}[]`).join(', ');
    await client.query(`INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${unnest})`, arrays);
  }
}
