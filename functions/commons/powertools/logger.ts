import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './service';

/** One JSON logger for every handler; the run-keys middleware adds month, runId and execution to it. */
export const logger = new Logger({ serviceName: SERVICE_NAME });
