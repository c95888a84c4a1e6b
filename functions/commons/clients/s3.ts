/**
 * The S3 client, created once per Lambda container. Like every client here it takes its endpoint
 * from the SDK's standard settings (AWS_ENDPOINT_URL_S3, ...), which is how the local run points it
 * at a stand-in; nothing here knows whether it runs on AWS. One module per client, so each Lambda
 * bundle carries only the SDK clients its handler uses. Each is wrapped by the tracer, so every
 * call is an X-Ray subsegment on AWS (commons/powertools/tracer.ts).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { tracer } from '../powertools/tracer';

export const s3Client = tracer.captureAWSv3Client(new S3Client({}));
