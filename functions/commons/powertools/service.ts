/** The service name every log line and metric carries (Powertools' `service`). */
export const SERVICE_NAME = 'monthly-loan-extract';
