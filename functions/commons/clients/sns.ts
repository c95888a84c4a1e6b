/** The SNS client, created once per Lambda container (endpoint: see s3.ts). */
import { SNSClient } from '@aws-sdk/client-sns';

export const snsClient = new SNSClient({});
