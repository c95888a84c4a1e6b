/** The Glue client, created once per Lambda container (endpoint: see s3.ts). */
import { GlueClient } from '@aws-sdk/client-glue';

export const glueClient = new GlueClient({});
