import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from './service';

/**
 * One X-Ray tracer for every handler (tracing is on in serverless.yml). It records the handler
 * (captureLambdaHandler) and every AWS SDK call of the clients in commons/clients/. Off outside
 * Lambda: the local runner and the tests set POWERTOOLS_TRACE_ENABLED=false, so nothing looks for
 * an X-Ray daemon there.
 */
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
