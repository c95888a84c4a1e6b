/**
 * Two executions of the same month started at once on the local stack (as two schedule firings or
 * an operator's re-run racing the schedule would on AWS): the ledger lets exactly one publish, and
 * the other ends saying which execution holds the month.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatMonth, lastCompleteMonth, calendarDateIn } from '../../functions/core/month';
import { startSampleOds } from '../../local/ods';
import { startLocalStack, type LocalStack } from '../../local/pipeline/local-stack';
import { readPublishedMonth } from '../../local/pipeline/published-month';

const TIME_ZONE = 'Africa/Johannesburg';
const MONTH = formatMonth(lastCompleteMonth(new Date(), TIME_ZONE));

let dataDir: string;
let ods: Awaited<ReturnType<typeof startSampleOds>>;
let stack: LocalStack;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'loan-extract-race-'));
  ods = await startSampleOds({ loans: 2000, today: calendarDateIn(new Date(), TIME_ZONE) });
  stack = await startLocalStack({ dataDir, sourceUrl: ods.url });
});

afterAll(async () => {
  await stack?.stop();
  await ods?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('two runs of one month started at once', () => {
  it('exactly one publishes; the other ends succeeded, touching nothing and naming the holder', async () => {
    const first = stack.startExecution({ month: MONTH });
    const second = stack.startExecution({ month: MONTH });
    const results = await Promise.all([first.result, second.result]);

    expect(results.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const outcomes = results.map((r) => (r.output as { outcome: string }).outcome).sort();
    expect(outcomes).toEqual(['busy', 'succeeded']);
    const winner = results.find((r) => (r.output as { outcome: string }).outcome === 'succeeded')!;
    const loser = results.find((r) => r !== winner)!;
    expect(loser.output).toMatchObject({ holderExecutionArn: winner.executionArn, message: expect.stringContaining(winner.executionArn) });

    const record = await stack.ledger.get('loan-moving-average', MONTH);
    expect(record).toMatchObject({ status: 'SUCCEEDED', executionArn: winner.executionArn, attempt: 1 });
    await stack.syncPublishedFiles();
    const published = await readPublishedMonth(stack.publishedRoot, MONTH);
    expect(published?.runId).toBe(winner.name);
    expect(published?.files.every((f) => f.matchesManifest)).toBe(true);
  });
});
