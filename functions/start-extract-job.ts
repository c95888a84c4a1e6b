/** StartExtractJob: start the Glue Spark job for the run's month, writing to the run's staging prefix. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { appendRunKeys, logger } from './commons/powertools/logger';
import { getStringFromEnv } from './core/config';
import { startExtractJob, type JobStarted } from './core/glue-steps';
import type { RunContext } from './core/run-context';

const glue = new SdkGlueApi(glueClient);
const jobName = getStringFromEnv('GLUE_JOB_NAME');
const extractBucket = getStringFromEnv('EXTRACT_BUCKET');

export async function functionHandler(event: { run: RunContext }): Promise<JobStarted> {
  appendRunKeys(event.run);
  const started = await startExtractJob(glue, jobName, event.run, extractBucket);
  logger.info(started.reused ? 'Extract job already started by an earlier try' : 'Extract job started', { ...started });
  return started;
}

export const handler = middy(functionHandler).use(injectLambdaContext(logger, { clearState: true }));
