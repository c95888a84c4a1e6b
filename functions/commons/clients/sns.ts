/** The SNS client, created once per Lambda container (endpoint: see s3.ts). */
import { SNSClient } from '@aws-sdk/client-sns';
import { tracer } from '../powertools/tracer';

export const snsClient = tracer.captureAWSv3Client(new SNSClient({}));
