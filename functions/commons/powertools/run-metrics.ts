/**
 * What a run adds to the metrics (names and meaning in metrics.ts). Extract, month and run id go in as EMF
 * metadata, not dimensions: they stay searchable in the log line (the dashboard's outcome table)
 * without making a new metric every month.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CompleteRunOutput, PublishOutput } from '../../core/complete-run';
import { fileSafeName } from '../../core/entity-naming';
import type { ExtractDefinition } from '../../core/extract-definition';
import { keysUseEntityNames } from '../../core/extract-keys';
import type { JobProgress } from '../../core/get-extract-job-state';
import type { NoticeResult } from '../../core/notify-failure';
import { parseMicroUsd } from '../../core/run-cost';
import { METRIC, addMetricWith, metrics } from './metrics';

export function recordSucceededRun(output: CompleteRunOutput, published: PublishOutput, extract: ExtractDefinition): void {
  metrics.addMetadata('extract', extract.id);
  metrics.addMetadata('month', output.month);
  metrics.addMetadata('runId', output.runId);
  metrics.addMetadata('outcome', 'SUCCEEDED');
  metrics.addMetric(METRIC.runSucceeded, MetricUnit.Count, 1);
  metrics.addMetric(METRIC.rowsPublished, MetricUnit.Count, output.rows);
  if (output.durationSeconds !== undefined) metrics.addMetric(METRIC.runDuration, MetricUnit.Seconds, output.durationSeconds);
  if (output.estimatedCostUsd !== undefined) {
    metrics.addMetadata('estimatedCostUsd', output.estimatedCostUsd);
    metrics.addMetric(METRIC.estimatedCost, MetricUnit.NoUnit, Number(parseMicroUsd(output.estimatedCostUsd)));
  }
  const entity = entityDimension(extract);
  for (const file of published.files) {
    const value = entity.valueOf(file);
    addMetricWith(entity.name, value, METRIC.fileRows, MetricUnit.Count, file.rows);
    addMetricWith(entity.name, value, METRIC.fileBytes, MetricUnit.Bytes, file.bytes);
  }
  for (const [reason, count] of Object.entries(published.rowsRejected ?? {})) {
    addMetricWith('reason', reason, METRIC.rowsRejected, MetricUnit.Count, count);
  }
}

/**
 * The dimension of the per-file metrics: named after the split entity (`bank`), its value the name
 * the file's key carries (`FirstNationalBank`) when the keys carry names, else the entity's id.
 */
function entityDimension(extract: ExtractDefinition): { name: string; valueOf: (file: PublishOutput['files'][number]) => string } {
  const { id, name } = extract.output.manifestFields;
  const byName = keysUseEntityNames(extract);
  return {
    name: extract.output.splitBy.entity,
    valueOf: (file) => (byName ? fileSafeName(String(file[name] ?? '')) : String(file[id] ?? '')),
  };
}

/** Once per failed execution: NotifyFailure calls it for the notice that emailed. */
export function recordFailedRun(notice: NoticeResult): void {
  if (notice.extract) metrics.addMetadata('extract', notice.extract);
  if (notice.month) metrics.addMetadata('month', notice.month);
  metrics.addMetadata('outcome', 'FAILED');
  if (notice.failedStep) metrics.addMetadata('failedStep', notice.failedStep);
  metrics.addMetric(METRIC.runFailed, MetricUnit.Count, 1);
}

/** The poll that saw the Spark job end records what Glue reported of it. */
export function recordExtractJob(progress: JobProgress): void {
  if (!progress.done) return;
  if (typeof progress.executionSeconds === 'number') metrics.addMetric(METRIC.extractJobDuration, MetricUnit.Seconds, progress.executionSeconds);
  if (typeof progress.dpuSeconds === 'number') metrics.addMetric(METRIC.glueDpuSeconds, MetricUnit.Count, progress.dpuSeconds);
}
