/** The Glue client, created once per Lambda container (endpoint: see s3.ts). */
import { GlueClient } from '@aws-sdk/client-glue';
import { tracer } from '../powertools/tracer';

export const glueClient = tracer.captureAWSv3Client(new GlueClient({}));
