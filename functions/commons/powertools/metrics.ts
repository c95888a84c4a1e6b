/**
 * One Metrics instance for every handler: CloudWatch embedded metric format, i.e. JSON log lines
 * that CloudWatch Logs turns into metrics (no PutMetricData call, no extra permission). The
 * namespace is the stage's (POWERTOOLS_METRICS_NAMESPACE, serverless.yml), so dev and prod never mix.
 * logMetrics flushes what a handler added once per invocation; what a run adds is in run-metrics.ts.
 */
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import type { MiddlewareObj } from '@middy/core';
import { getStringFromEnv } from '../../core/config';
import { SERVICE_NAME } from './service';

/** Every metric's name. resources/dashboard.yml graphs them by the same names (test/deploy checks it). */
export const METRIC = {
  /** 1 per successful run (CompleteRun). */
  runSucceeded: 'RunSucceeded',
  /** 1 per failed, timed-out or aborted execution, when NotifyFailure emails it. */
  runFailed: 'RunFailed',
  /** Seconds from the execution's start to CompleteRun. */
  runDuration: 'RunDuration',
  /** Milliseconds each handler ran, per `handler` (a state of the state machine, or the missed-month check). */
  handlerDuration: 'HandlerDuration',
  /** Glue's ExecutionTime of the run's Spark job, in seconds. */
  extractJobDuration: 'ExtractJobDuration',
  /** DPU-seconds the Spark job is billed for (core/glue-dpu.ts). */
  glueDpuSeconds: 'GlueDpuSeconds',
  /** Data rows published by the run, all its files. */
  rowsPublished: 'RowsPublished',
  /**
   * Data rows and bytes of each published file, per the extract's split entity: dimension `bank`
   * (its file-safe name) for the loan extract, `branch` (its id) for one split by branch.
   */
  fileRows: 'FileRows',
  fileBytes: 'FileBytes',
  /** Source rows left out of the numbers, per `reason`. */
  rowsRejected: 'RowsRejected',
  /** The run's estimated cost in whole micro-USD (core/run-cost.ts): an integer, never a float of dollars. */
  estimatedCost: 'EstimatedCostMicroUsd',
} as const;

export const metrics = new Metrics({ namespace: getStringFromEnv('POWERTOOLS_METRICS_NAMESPACE'), serviceName: SERVICE_NAME });

/**
 * One metric with one extra dimension (a split entity, a reason, a handler), written at once as its own
 * EMF line, so the invocation's other metrics keep only the default dimension.
 */
export function addMetricWith(dimension: string, value: string, name: string, unit: Unit, amount: number): void {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(name, unit, amount);
}

/**
 * Names the invocation's metrics by `handler` (a state of the state machine, or the missed-month
 * check) and adds its duration (HandlerDuration), failed invocations included. Use it after
 * logMetrics, which then writes them in one EMF line.
 */
export function handlerMetrics(handler: string): MiddlewareObj {
  // Keyed by the invocation, not a variable: the local runner may run two invocations at once.
  const started = new WeakMap<object, number>();
  const record = (request: object) => {
    metrics.addMetric(METRIC.handlerDuration, MetricUnit.Milliseconds, Date.now() - (started.get(request) ?? Date.now()));
  };
  return {
    before: (request) => {
      started.set(request, Date.now());
      metrics.addDimension('handler', handler);
    },
    after: record,
    onError: record,
  };
}
