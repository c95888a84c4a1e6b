import { Logger } from '@aws-lambda-powertools/logger';
import type { RunContext } from '../../core/run-context';

/** One JSON logger for every handler; handlers append month, runId and execution to it. */
export const logger = new Logger({ serviceName: 'monthly-loan-extract' });

/** The keys every log line of a run carries, so one month's run can be followed across all its Lambdas. */
export function appendRunKeys(run: Pick<RunContext, 'month' | 'runId' | 'executionArn'>): void {
  logger.appendKeys({ month: run.month, runId: run.runId, executionArn: run.executionArn });
}
