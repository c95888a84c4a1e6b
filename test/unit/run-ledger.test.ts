import { clip, holdVerdict, type MonthRecord } from '../../functions/core/run-ledger';

const NOW = new Date('2024-04-01T00:10:00Z');
const ME = 'arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:me';
const OTHER = 'arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:other';

function record(status: MonthRecord['status'], fields: Partial<MonthRecord> = {}): MonthRecord {
  return {
    extract: 'loan-moving-average',
    month: '2024-03',
    status,
    executionArn: OTHER,
    runId: 'other',
    force: false,
    attempt: 1,
    leaseExpiresAt: '2024-04-01T06:00:00.000Z',
    startedAt: '2024-04-01T00:00:00.000Z',
    updatedAt: '2024-04-01T00:00:00.000Z',
    history: [],
    ...fields,
  };
}

describe('who may take a month', () => {
  it.each([
    ['no record', undefined, false, 'takeable'],
    ['FAILED', record('FAILED'), false, 'takeable'],
    ['SUCCEEDED, not forced', record('SUCCEEDED'), false, 'skipped'],
    ['SUCCEEDED, forced', record('SUCCEEDED'), true, 'takeable'],
    ['RUNNING by another execution, lease live', record('RUNNING'), false, 'busy'],
    ['RUNNING by another execution, lease live, even forced', record('RUNNING'), true, 'busy'],
    ['RUNNING by another execution, lease expired', record('RUNNING', { leaseExpiresAt: '2024-04-01T00:09:59.999Z' }), false, 'takeable'],
    ['RUNNING by this execution (a retried ResolveRun)', record('RUNNING', { executionArn: ME }), false, 'held-by-caller'],
  ])('%s → %s', (_label, current, force, verdict) => {
    expect(holdVerdict(current, { executionArn: ME, force, now: NOW })).toBe(verdict);
  });
});

describe('clip', () => {
  it('keeps short causes and marks long ones as truncated within the limit', () => {
    expect(clip('short', 100)).toBe('short');
    const clipped = clip('x'.repeat(500), 100);
    expect(clipped).toHaveLength(100);
    expect(clipped.endsWith('... [truncated]')).toBe(true);
  });
});
