/** StartExtractJob: start the run's extract's Glue Spark job for the run's month (core/start-extract-job.ts). */
import type { z } from 'zod';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { getStringFromEnv } from './core/config';
import { runPayloadSchema } from './core/run-context';
import { extractJobName, startExtractJob, type JobStarted } from './core/start-extract-job';

const glue = new SdkGlueApi(glueClient);
const jobNamePrefix = getStringFromEnv('GLUE_JOB_NAME_PREFIX');
const extractBucket = getStringFromEnv('EXTRACT_BUCKET');

export async function functionHandler(event: z.infer<typeof runPayloadSchema>): Promise<JobStarted> {
  const started = await startExtractJob(glue, extractJobName(jobNamePrefix, event.run), event.run, extractBucket);
  logger.info(started.reused ? 'Extract job already started by an earlier try' : 'Extract job started', { ...started });
  return started;
}

export const handler = stepHandler({ step: 'StartExtractJob', payload: runPayloadSchema }, functionHandler);
