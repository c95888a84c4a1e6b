/** GetExtractJobState: one poll of the Spark job run (core/get-extract-job-state.ts). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { z } from 'zod';
import { glueClient } from './commons/clients/glue';
import { SdkGlueApi } from './commons/clients/glue-api';
import { logger } from './commons/powertools/logger';
import { handlerMetrics, metrics } from './commons/powertools/metrics';
import { validPayload } from './commons/powertools/payload';
import { tracer } from './commons/powertools/tracer';
import { recordExtractJob } from './commons/powertools/run-metrics';
import { runKeys } from './commons/powertools/run-keys';
import { getStringFromEnv } from './core/config';
import { getExtractJobState, type JobProgress } from './core/get-extract-job-state';
import { runPayloadSchema } from './core/run-context';

const glue = new SdkGlueApi(glueClient);
const jobName = getStringFromEnv('GLUE_JOB_NAME');

const payloadSchema = runPayloadSchema.extend({ jobRunId: z.string().min(1) });

export async function functionHandler(event: z.infer<typeof payloadSchema>): Promise<JobProgress> {
  const progress = await getExtractJobState(glue, jobName, event.jobRunId);
  recordExtractJob(progress);
  logger.info('Extract job polled', { ...progress });
  return progress;
}

export const handler = middy(functionHandler)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics))
  .use(handlerMetrics('GetExtractJobState'))
  .use(validPayload(payloadSchema))
  .use(runKeys());
