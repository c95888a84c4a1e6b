/**
 * AWS SDK clients, created once per Lambda container. Endpoints come from the SDK's standard
 * settings (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB, ...), which is how the local run points
 * them at its stand-ins: nothing here knows whether it runs on AWS.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export const s3Client = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
export const dynamoDocumentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
export const snsClient = new SNSClient({});
export const glueClient = new GlueClient({});
