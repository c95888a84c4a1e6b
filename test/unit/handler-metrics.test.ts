/**
 * What the handlers tell CloudWatch: the embedded-metric-format lines they write, parsed as
 * CloudWatch Logs parses them (functions/commons/powertools/metrics.ts names the metrics).
 */
import { GetJobRunCommand, GlueClient } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { METRIC } from '../../functions/commons/powertools/metrics';
import type { CompleteRunOutput, PublishOutput } from '../../functions/core/complete-run';
import type { JobProgress } from '../../functions/core/get-extract-job-state';
import { estimateRunCost } from '../../functions/core/run-cost';
import type { RunContext } from '../../functions/core/run-context';
import { LEDGER_TABLE, useLedgerTable } from '../support/ledger-table';
import { captureLogs, lambdaContext, recordedEvent } from './lambda-harness';

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/** One metric as CloudWatch would store it: name, unit, value, and its dimensions with their values. */
interface Datum {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly value: unknown;
  readonly dimensions: Record<string, unknown>;
}

function metricsOf(lines: Record<string, unknown>[]): { data: Datum[]; emf: Emf[] } {
  const emf = lines.filter((line): line is Emf => typeof line._aws === 'object');
  const data = emf.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.map((metric) => ({
        namespace: directive.Namespace,
        name: metric.Name,
        unit: metric.Unit,
        value: line[metric.Name],
        dimensions: Object.fromEntries(directive.Dimensions.flat().map((d) => [d, line[d]])),
      })),
    ),
  );
  return { data, emf };
}

async function invoke<E, R>(handler: (event: E, context: typeof lambdaContext) => Promise<R>, event: E) {
  const logs = captureLogs();
  try {
    const result = await handler(event, lambdaContext).then(
      (value): { value?: R; error?: unknown } => ({ value }),
      (error: unknown): { value?: R; error?: unknown } => ({ error }),
    );
    return { ...result, ...metricsOf(logs.lines) };
  } finally {
    logs.restore();
  }
}

const NAMESPACE = 'monthly-loan-extract/test';
const service = { service: 'monthly-loan-extract' };
const table = useLedgerTable();
const glue = mockClient(GlueClient);
type CompleteEvent = { run: RunContext; published: PublishOutput; executionStartTime?: string };
type PollEvent = { run: RunContext; jobRunId: string };
let completeRun: (event: CompleteEvent, context: typeof lambdaContext) => Promise<CompleteRunOutput>;
let getExtractJobState: (event: PollEvent, context: typeof lambdaContext) => Promise<JobProgress>;

beforeAll(async () => {
  expect(process.env.POWERTOOLS_METRICS_NAMESPACE).toBe(NAMESPACE);
  process.env.RUN_LEDGER_TABLE = LEDGER_TABLE;
  process.env.GLUE_JOB_NAME_PREFIX = 'monthly-loan-extract-test-';
  ({ handler: completeRun } = await import('../../functions/complete-run'));
  ({ handler: getExtractJobState } = await import('../../functions/get-extract-job-state'));
});
afterAll(() => glue.restore());

describe('CompleteRun metrics', () => {
  const event = recordedEvent<CompleteEvent>('complete-run.json');
  const estimatedCost = estimateRunCost(
    { crawlerPolls: 2, extractJobPolls: 5, glueDpuSeconds: 3000 },
    { durationMs: 2500, memoryMb: 1024 },
    { gluePerDpuHour: '0.44', stepFunctionsPer1000Transitions: '0.025', lambdaPerGbSecond: '0.0000133334', lambdaPer1MRequests: '0.20' },
  );

  it('records the outcome, duration, rows, rejected rows per reason, rows and bytes per bank and the cost as an integer', async () => {
    const started = new Date(Date.now() - 754_000).toISOString();
    await table.ledger.take({
      extract: 'loan-moving-average',
      month: '2024-03',
      executionArn: event.run.executionArn,
      runId: event.run.runId,
      force: false,
      now: new Date(),
      leaseExpiresAt: new Date(Date.now() + 3_600_000),
    });
    const published = { ...event.published, rowsRejected: { null_amount: 4, unresolved_branch: 1 }, estimatedCost };
    const { value, data, emf } = await invoke(completeRun, { ...event, published, executionStartTime: started });

    expect(value).toMatchObject({ durationSeconds: 754, estimatedCostUsd: estimatedCost.total, message: expect.stringContaining(`Estimated cost USD ${estimatedCost.total}.`) });
    // Glue 3000 DPU-s × 0.44 / 3600 = 0.366667; 36 transitions × 0.025 / 1000 = 0.000900; 12 requests and 2.5 GB-s = 0.000036.
    expect(estimatedCost.total).toBe('0.367603');
    const run = { ...service, handler: 'CompleteRun' };
    expect(data).toEqual(
      expect.arrayContaining([
        { namespace: NAMESPACE, name: METRIC.runSucceeded, unit: 'Count', value: 1, dimensions: run },
        { namespace: NAMESPACE, name: METRIC.runDuration, unit: 'Seconds', value: 754, dimensions: run },
        { namespace: NAMESPACE, name: METRIC.rowsPublished, unit: 'Count', value: 200, dimensions: run },
        { namespace: NAMESPACE, name: METRIC.estimatedCost, unit: 'None', value: 367_603, dimensions: run },
        { namespace: NAMESPACE, name: METRIC.handlerDuration, unit: 'Milliseconds', value: expect.any(Number), dimensions: run },
        { namespace: NAMESPACE, name: METRIC.fileRows, unit: 'Count', value: 120, dimensions: { ...service, bank: 'FirstNationalBank' } },
        { namespace: NAMESPACE, name: METRIC.fileRows, unit: 'Count', value: 0, dimensions: { ...service, bank: 'Capitec' } },
        { namespace: NAMESPACE, name: METRIC.fileBytes, unit: 'Bytes', value: 10432, dimensions: { ...service, bank: 'FirstNationalBank' } },
        { namespace: NAMESPACE, name: METRIC.rowsRejected, unit: 'Count', value: 4, dimensions: { ...service, reason: 'null_amount' } },
        { namespace: NAMESPACE, name: METRIC.rowsRejected, unit: 'Count', value: 1, dimensions: { ...service, reason: 'unresolved_branch' } },
      ]),
    );
    expect(data.filter((d) => d.name === METRIC.fileRows)).toHaveLength(event.published.files.length);
    // The month and run are searchable in the line (the dashboard's outcome table), not dimensions.
    expect(emf).toContainEqual(expect.objectContaining({ extract: 'loan-moving-average', month: '2024-03', runId: event.run.runId, outcome: 'SUCCEEDED', estimatedCostUsd: '0.367603' }));
  });
});

describe('GetExtractJobState metrics', () => {
  const event = recordedEvent<PollEvent>('get-extract-job-state.json');
  const poll = { ...service, handler: 'GetExtractJobState' };

  it("records the finished job's execution time and DPU-seconds", async () => {
    glue.on(GetJobRunCommand).resolves({ JobRun: { Id: event.jobRunId, JobRunState: 'SUCCEEDED', ExecutionTime: 310, WorkerType: 'G.1X', NumberOfWorkers: 10 } });
    const { value, data } = await invoke(getExtractJobState, event);
    expect(value).toMatchObject({ done: true, dpuSeconds: 3100, executionSeconds: 310 });
    expect(data).toEqual(
      expect.arrayContaining([
        { namespace: NAMESPACE, name: METRIC.extractJobDuration, unit: 'Seconds', value: 310, dimensions: poll },
        { namespace: NAMESPACE, name: METRIC.glueDpuSeconds, unit: 'Count', value: 3100, dimensions: poll },
      ]),
    );
  });

  it('records only its own duration while the job runs', async () => {
    glue.on(GetJobRunCommand).resolves({ JobRun: { Id: event.jobRunId, JobRunState: 'RUNNING' } });
    const { data } = await invoke(getExtractJobState, event);
    expect(data.map((d) => [d.name, d.dimensions])).toEqual([[METRIC.handlerDuration, poll]]);
  });

  it('records the duration of a failed invocation too', async () => {
    const { error, data } = await invoke(getExtractJobState, { ...event, jobRunId: '' });
    expect(error).toMatchObject({ name: 'InvalidPayload' });
    expect(data.map((d) => [d.name, d.dimensions])).toEqual([[METRIC.handlerDuration, poll]]);
  });
});
