/** GetExtractJobState: one poll of the Spark job run (core/get-extract-job-state.ts). */
import { z } from 'zod';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { logger } from './commons/powertools/logger';
import { stepHandler } from './commons/powertools/step-handler';
import { recordExtractJob } from './commons/powertools/run-metrics';
import { getStringFromEnv } from './core/config';
import { getExtractJobState, type JobProgress } from './core/get-extract-job-state';
import { runPayloadSchema } from './core/run-context';
import { extractJobName } from './core/start-extract-job';

const glue = new SdkGlueApi(glueClient);
const jobNamePrefix = getStringFromEnv('GLUE_JOB_NAME_PREFIX');

const payloadSchema = runPayloadSchema.extend({ jobRunId: z.string().min(1) });

export async function functionHandler(event: z.infer<typeof payloadSchema>): Promise<JobProgress> {
  // The run's extract's job: the one StartExtractJob started.
  const progress = await getExtractJobState(glue, extractJobName(jobNamePrefix, event.run), event.jobRunId);
  recordExtractJob(progress);
  logger.info('Extract job polled', { ...progress });
  return progress;
}

export const handler = stepHandler({ step: 'GetExtractJobState', payload: payloadSchema }, functionHandler);
