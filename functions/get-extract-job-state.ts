/** GetExtractJobState: one poll of the Spark job run; a run that ended badly fails the run with its state and message. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { appendRunKeys, logger } from './commons/powertools/logger';
import { getStringFromEnv } from './core/config';
import { getExtractJobProgress, type JobProgress } from './core/glue-steps';
import type { RunContext } from './core/run-context';

const glue = new SdkGlueApi(glueClient);
const jobName = getStringFromEnv('GLUE_JOB_NAME');

export async function functionHandler(event: { run: RunContext; jobRunId: string }): Promise<JobProgress> {
  appendRunKeys(event.run);
  const progress = await getExtractJobProgress(glue, jobName, event.jobRunId);
  logger.info('Extract job polled', { ...progress });
  return progress;
}

export const handler = middy(functionHandler).use(injectLambdaContext(logger, { clearState: true }));
