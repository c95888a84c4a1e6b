/**
 * The operator's commands on the local runner, as a person types them: `npm run backfill` runs each
 * month through `npm start`'s state machine, `npm run history` reads what it left in the ledger,
 * `npm run check` emails the missed month to the outbox once it is due.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addMonths, formatMonth, lastCompleteMonth } from '../../functions/core/month';
import type { MonthHistoryRow } from '../../functions/core/run-history';

const ROOT = join(__dirname, '..', '..');
const TZ = 'Africa/Johannesburg';
const latest = lastCompleteMonth(new Date(), TZ);
/** Two months before the last complete one, so the last complete month is the missed one. */
const [A, B] = [formatMonth(addMonths(latest, -2)), formatMonth(addMonths(latest, -1))];
const LATEST = formatMonth(latest);

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'loan-extract-ops-'));
});
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function npmRun(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', script, '--', ...args], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', STAGE_TIME_ZONE: TZ }, timeout: 200_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const backfill = (...args: string[]) => npmRun('backfill', ['--from', A, '--to', B, '--data-dir', dataDir, '--loans', '2000', ...args]);
const outcomes = (stdout: string) => [A, B].map((month) => new RegExp(`^${month}  (\\S+)`, 'm').exec(stdout.split('\n\nmonth')[1] ?? '')?.[1]);

describe('npm run backfill, history and check on a fresh data dir', () => {
  it('refuses a bad range with InvalidInput before anything starts', async () => {
    const fresh = join(dataDir, 'never-made');
    for (const [from, to, message] of [
      [B, A, `to: ${A} is before --from ${B}`],
      [A, formatMonth(addMonths(latest, 1)), `to: ${formatMonth(addMonths(latest, 1))} is not complete yet`],
      ['2000-01', LATEST, `to: 2000-01..${LATEST} is`],
      ['2024-1', B, 'from: must look like "YYYY-MM"'],
    ] as const) {
      const run = await npmRun('backfill', ['--from', from, '--to', to, '--data-dir', fresh]);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(`InvalidInput: ${message}`) });
    }
    const unknown = await npmRun('backfill', ['--from', A, '--to', B, '--data-dir', fresh, '--month', A]);
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("InvalidInput: arguments: Unknown option '--month'") });
    expect(existsSync(fresh)).toBe(false);
  });

  it('publishes every month, then skips them; a simulated failure stops it at that month with exit 1', async () => {
    const first = await backfill();
    expect({ code: first.code, outcomes: outcomes(first.stdout) }).toEqual({ code: 0, outcomes: ['succeeded', 'succeeded'] });
    expect(first.stdout).toContain('2 month(s): 2 published, 0 skipped, 0 failed, 0 not run');

    const again = await backfill();
    expect({ code: again.code, outcomes: outcomes(again.stdout) }).toEqual({ code: 0, outcomes: ['skipped', 'skipped'] });

    const failing = await backfill('--force', '--simulate-failure', 'glue-job', '--simulate-failure-month', A);
    expect({ code: failing.code, outcomes: outcomes(failing.stdout) }).toEqual({ code: 1, outcomes: ['failed', 'not-run'] });
    expect(failing.stdout).toMatch(new RegExp(`^${A}  failed .*ExtractJobFailed`, 'm'));
  }, 400_000);

  it('shows each month from the ledger: the failed re-run and its attempts, the published month with exact totals', async () => {
    // As at set instants (--at): the latest month is due at 08:00 on the 1st after it (its run at 02:00 plus 6 hours).
    const firstOfNext = `${formatMonth(addMonths(latest, 1))}-01`;
    const due = `${firstOfNext}T08:00:00+02:00`;
    const run = await npmRun('history', ['--data-dir', dataDir, '--from', A, '--to', LATEST, '--json', '--at', due]);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as MonthHistoryRow[];
    expect(rows.map((r) => [r.month, r.status, r.attempts])).toEqual([
      [A, 'FAILED', 2],
      [B, 'SUCCEEDED', 1],
      [LATEST, 'NEVER_RAN', 0],
    ]);
    const published = rows[1]!;
    expect(published).toMatchObject({ files: 3, rejectedRows: expect.any(Number), controlTotals: { loan_count: expect.stringMatching(/^\d+$/), loan_amount: expect.stringMatching(/^\d+$/) } });
    // The failed month keeps what its earlier success published.
    expect(rows[0]!.files).toBe(3);
    const table = await npmRun('history', ['--data-dir', dataDir, '--from', A, '--to', LATEST, '--at', due]);
    expect(table.stdout).toContain('3 month(s): 1 succeeded, 1 failed, 0 running, 1 never ran');
    // A minute before, the latest month is not missed yet: NOT_DUE, not NEVER_RAN.
    const early = await npmRun('history', ['--data-dir', dataDir, '--from', A, '--to', LATEST, '--at', `${firstOfNext}T07:59:00+02:00`]);
    expect(early.stdout).toMatch(new RegExp(`^${LATEST}\\s+NOT_DUE\\s+0$`, 'm'));
    expect(early.stdout).toContain('3 month(s): 1 succeeded, 1 failed, 0 running, 0 never ran, 1 not due yet');
  }, 60_000);

  it('checks the latest month due: the last complete one from 08:00 on the 1st (the run at 02:00 plus 6 hours), then emails it once a day', async () => {
    const outbox = join(dataDir, 'outbox');
    const before = new Set(await readdir(outbox));
    // As at set instants (--at), so the test does not depend on the hour it runs at.
    const firstOfNext = `${formatMonth(addMonths(latest, 1))}-01`;
    const early = await npmRun('check', ['--data-dir', dataDir, '--at', `${firstOfNext}T07:59:00+02:00`]);
    expect(early.code).toBe(0);
    expect(early.stdout).toContain(`● loan-moving-average ${LATEST} is not due yet: due at ${firstOfNext} 08:00 Africa/Johannesburg (6 hours after its scheduled run)`);
    expect(early.stdout).toContain(`✔ loan-moving-average ${B} SUCCEEDED: nothing to report`);
    expect((await readdir(outbox)).length).toBe(before.size);

    const run = await npmRun('check', ['--data-dir', dataDir, '--at', `${firstOfNext}T08:00:00+02:00`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`✖ [local] loan-moving-average ${LATEST} not published: never ran`);
    const emails = (await readdir(outbox)).filter((name) => !before.has(name));
    expect(emails).toHaveLength(1);
    const email = await readFile(join(outbox, emails[0]!), 'utf8');
    expect(email).toContain(`    {"extract":"loan-moving-average","month":"${LATEST}"}`);
    const again = await npmRun('check', ['--data-dir', dataDir, '--at', `${firstOfNext}T09:00:00+02:00`]);
    expect(again.stdout).toContain('already emailed today');
    expect((await readdir(outbox)).length).toBe(before.size + 1);

    const bad = await npmRun('check', ['--data-dir', dataDir, '--at', '2024-02-30T08:00:00Z']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('InvalidInput: at: must be a calendar date') });
  }, 60_000);
});
