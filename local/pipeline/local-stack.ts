/**
 * The AWS side of the pipeline on this machine: S3, DynamoDB, Glue and SNS stand-ins on loopback
 * ports, the real handlers loaded behind a local Lambda runtime, and the production state machine
 * definition run by aws-local-stepfunctions. Handlers find the stand-ins through the AWS SDK's
 * standard endpoint variables (AWS_ENDPOINT_URL_S3, ...), the only thing that differs from AWS.
 *
 * Handlers read their configuration when first loaded and the SDK keeps its endpoints, so one
 * process runs one stack at a time. A stack runs one extract: its folder is "deployed" to the
 * scripts bucket stand-in at `extracts/<id>/<file>`, as the glue-assets plugin deploys it on AWS,
 * and the Glue stand-in serves that extract's job.
 */
import './promise-with-resolvers';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFile } from 'node:fs/promises';
import { DeleteObjectsCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { DEFAULT_EXTRACT_ID, findExtract, type ExtractFolder } from '../../extracts/folders';
import { describeMigration, migrateLegacyLedger } from '../../functions/commons/clients/dynamodb-ledger-migration';
import { DynamoDbRunLedger } from '../../functions/commons/clients/dynamodb-run-ledger';
import { extractFolderKey } from '../../functions/core/deployed-extracts';
import { keyPatternPrefix } from '../../functions/core/extract-definition';
import { EXTRACTS_PREFIX } from '../../functions/core/extract-keys';
import { formatMonth } from '../../functions/core/month';
import { stagingPrefixFor } from '../../functions/core/run-context';
import { parseRunInput, runInputExtract } from '../../functions/core/run-input';
import type { MonthRecord, RunLedger } from '../../functions/core/run-ledger';
import { startDynamoDbStandIn } from '../stand-ins/dynamodb';
import { startGlueStandIn, type GlueEngine, type GlueStandIn } from '../stand-ins/glue';
import type { LoopbackServer } from '../stand-ins/loopback-server';
import { S3_STAND_IN_CREDENTIALS, startS3StandIn } from '../stand-ins/s3';
import { startSnsStandIn } from '../stand-ins/sns';
import { loadLocalDefinition, localOverrides, type LocalDefinition } from './definition';
import { loadLambdas, routeHandlerLogs, type LocalLambdas, type LogRoute } from './lambda-runtime';
import { readServerlessFunctions, readServerlessParams } from './serverless-config';

/** One event of an execution's history (the library does not export the type). */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export { GLUE_ENGINES, type GlueEngine } from '../stand-ins/glue';

export const SIMULATED_FAILURES = ['crawler', 'glue-job', 'publish'] as const;
export type SimulatedFailure = (typeof SIMULATED_FAILURES)[number];

/** The names of the local stage's resources (DNS-style bucket names, as S3 requires). */
export const LOCAL_STAGE = {
  service: 'monthly-loan-extract',
  stage: 'local',
  region: 'af-south-1',
  account: '000000000000',
  extractBucket: 'monthly-loan-extract-local-extracts',
  /** The ScriptsBucket stand-in: each extract's folder at `extracts/<id>/` (EXTRACT_DEFINITIONS_BUCKET). */
  scriptsBucket: 'monthly-loan-extract-local-scripts',
  ledgerTable: 'monthly-loan-extract-local-run-ledger',
  crawlerName: 'monthly-loan-extract-local-ods',
  /** Each extract's Glue job is this prefix and its id (scripts/extract-stack.ts names the deployed ones alike). */
  jobNamePrefix: 'monthly-loan-extract-local-',
  topicName: 'monthly-loan-extract-local-alerts',
  supportEmail: 'data-support@mybigbank.co.za',
  sourceSchema: 'public',
  leaseMinutes: 360,
} as const;

/** The deployed stage the local one mirrors for what serverless.yml sets per stage (the Glue job's workers, prices). */
const MIRRORED_STAGE = 'dev';

// Lambdas run Node 22; the SDK's warning about this machine's Node 20 says nothing about them.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ARN = `${LOCAL_STAGE.region}:${LOCAL_STAGE.account}`;
const functionName = (key: string) => `${LOCAL_STAGE.service}-${LOCAL_STAGE.stage}-${key}`;
const functionArn = (key: string) => `arn:aws:lambda:${ARN}:function:${functionName(key)}`;
export const STATE_MACHINE_ARN = `arn:aws:states:${ARN}:stateMachine:${LOCAL_STAGE.service}-${LOCAL_STAGE.stage}`;
export const ALERT_TOPIC_ARN = `arn:aws:sns:${ARN}:${LOCAL_STAGE.topicName}`;

/**
 * How long the local run waits where the definition says 30 or 60 s. The Glue stand-in holds each
 * poll of a running crawl or job for up to 5 s (as a long poll), so runs stay quick while the poll
 * ceilings (60 and 240 polls) still mean minutes, not seconds.
 */
const LOCAL_WAIT_MS = 250;
/** Retries keep their count and order; only the pause between attempts is shortened. */
const LOCAL_RETRY_INTERVAL_MS = 100;

export interface LocalStackOptions {
  /** Keeps buckets, ledger, catalog, outbox and logs between runs. */
  readonly dataDir: string;
  /** postgres:// URL of the ODS the Glue stand-in's connection points at. */
  readonly sourceUrl: string;
  /** The extract the stack runs (default the loan extract); its folder is deployed to the scripts bucket stand-in. */
  readonly extract?: ExtractFolder;
  /** What the Glue stand-in runs the job with (default duckdb); spark needs a real PostgreSQL as the source. */
  readonly engine?: GlueEngine;
}

/** Where the S3 stand-in keeps the buckets' objects and versions (local/stand-ins/s3-store.ts). */
export function s3StoreDir(dataDir: string): string {
  return join(dataDir, 's3-store');
}

/** Where `--engine spark` logs: the local Spark's stderr, with etl.py's log. */
export function sparkLogPath(dataDir: string): string {
  return join(dataDir, 'logs', 'spark.log');
}

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionResult {
  readonly executionArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly output?: unknown;
  /** Error name and cause of a failed execution, as the console shows them. */
  readonly error?: string;
  readonly cause?: string;
  readonly startedAt: Date;
  readonly stoppedAt: Date;
  /** The status-change rule's invocation of NotifyFailure failed (it is what emails a stopped execution). */
  readonly statusChangeError?: string;
}

export interface LocalExecution {
  readonly executionArn: string;
  readonly name: string;
  readonly result: Promise<ExecutionResult>;
  /** Stops the execution as the console's "Stop execution" (StopExecution with a cause) does; result then ends ABORTED. */
  abort(cause?: string): void;
}

/** What releasing a dead execution did (`releaseDeadExecution`). */
export interface Release {
  /** NotifyFailure emailed data-support about it. */
  readonly emailed: boolean;
  /** NotifyFailure failed, or the month could not be marked FAILED: why. */
  readonly error?: string;
  /** What NotifyFailure did about the execution's unfinished publish (rolled back, or kept). */
  readonly publishing?: string;
}

export interface LocalStack {
  readonly dataDir: string;
  /** Plain-file copy of the extract bucket: `<publishedRoot>/<key>`. */
  readonly publishedRoot: string;
  readonly outboxDir: string;
  readonly logPath: string;
  readonly ledger: RunLedger;
  /** The extract this stack runs. */
  readonly extract: ExtractFolder;
  /** What migrating the data dir's ledger from before extracts were templated did; undefined when there was nothing to do. */
  readonly ledgerMigration?: string;
  /** Makes the given step fail in the executions started from now on (undefined: none). */
  simulateFailure(step: SimulatedFailure | undefined): void;
  /**
   * Kills this process (SIGKILL) once the `writes`th object under `extracts/` of the extract bucket
   * is stored, that is while PublishExtracts runs: a crash test (undefined: disarmed).
   */
  simulateCrash(writes: number | undefined): void;
  startExecution(input: unknown, onEvent?: (event: EventLog) => void): LocalExecution;
  /**
   * Ends what an execution this machine no longer runs left behind, as AWS does for an execution
   * that was stopped: `record` (the ledger shows it RUNNING) gets its ABORTED status change, so
   * NotifyFailure settles its publish, marks the month FAILED and emails once; then its staging is removed.
   */
  releaseDeadExecution(record: MonthRecord, cause: string): Promise<Release>;
  /** Copies the published keys out of the S3 stand-in as plain files; returns the keys. */
  syncPublishedFiles(): Promise<string[]>;
  /**
   * Waits for the running steps (a Glue job, a handler) to end, removes the staging of the
   * executions it ran (on AWS a lifecycle rule expires it): all a failed, timed-out or stopped run
   * wrote, and the old versions a published run's own clean-up leaves in the versioned bucket; then
   * stops the stand-ins.
   */
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = options.dataDir;
  const extract = options.extract ?? findExtract(DEFAULT_EXTRACT_ID);
  const extractId = extract.definition.id;
  const started: { close(): Promise<void> }[] = [];
  let logs: LogRoute | undefined;
  try {
    // Versioned, as the production extract bucket is: publishing rolls back to the versions it replaced.
    const s3 = await startS3StandIn(s3StoreDir(dataDir), [
      { name: LOCAL_STAGE.extractBucket, versioned: true },
      { name: LOCAL_STAGE.scriptsBucket, versioned: false },
    ]);
    started.push(s3);
    const dynamo = await startDynamoDbStandIn(join(dataDir, 'dynamodb'), LOCAL_STAGE.ledgerTable);
    started.push(dynamo);
    const outboxDir = join(dataDir, 'outbox');
    const sns = await startSnsStandIn({ topicArn: ALERT_TOPIC_ARN, subscriber: LOCAL_STAGE.supportEmail, outboxDir });
    started.push(sns);
    const s3Client = new S3Client({ endpoint: s3.url, region: LOCAL_STAGE.region, credentials: STAND_IN_CREDENTIALS });
    await deployExtract(s3Client, extract);
    const params = readServerlessParams(MIRRORED_STAGE);
    const glue = await startGlueStandIn({
      crawlerName: LOCAL_STAGE.crawlerName,
      jobNamePrefix: LOCAL_STAGE.jobNamePrefix,
      capacity: { workerType: String(params.glueWorkerType), numberOfWorkers: Number(params.glueNumberOfWorkers) },
      sourceUrl: options.sourceUrl,
      sourceSchema: LOCAL_STAGE.sourceSchema,
      catalogDir: join(dataDir, 'glue-catalog'),
      s3: s3Client,
      engine: options.engine,
      spark: { logPath: sparkLogPath(dataDir), stagingRoot: join(dataDir, 'glue-spark') },
    });
    started.push({ close: async () => { await glue.idle(); await glue.close(); s3Client.destroy(); } });
    /** Never throws: staging that stays behind is only untidy; the reason is returned. */
    const removeStaging = (extractOfRun: string, month: string, runId: string) =>
      removeStagingOf(s3Client, extractOfRun, month, runId).then(
        () => undefined,
        (error: unknown) => `the staging of run ${runId} could not be removed: ${(error as Error).message}`,
      );

    Object.assign(process.env, lambdaEnvironment({ extractIds: [extractId] }, { s3, dynamo, glue, sns }, params));
    const functions = readServerlessFunctions();
    const local = loadLocalDefinition(functions, functionArn);
    const lambdas = await loadLambdas(functions, { functionName, functionArn, region: LOCAL_STAGE.region });
    logs = routeHandlerLogs(join(dataDir, 'logs', 'lambda.jsonl'));

    const ledgerClient = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: dynamo.url, region: LOCAL_STAGE.region, credentials: STAND_IN_CREDENTIALS }),
    );
    started.push({ close: async () => ledgerClient.destroy() });
    // A data dir from before extracts were templated keeps its months: they are the loan extract's.
    const ledgerMigration = describeMigration(await migrateLegacyLedger(ledgerClient, LOCAL_STAGE.ledgerTable));
    const publishedRoot = join(dataDir, 's3', LOCAL_STAGE.extractBucket);
    const logRoute = logs;
    const ledger = new DynamoDbRunLedger(ledgerClient, LOCAL_STAGE.ledgerTable);
    /** The staging of the executions run, removed once nothing runs any more. */
    const leftStaging: { extract: string; month: string; runId: string }[] = [];

    return {
      dataDir,
      publishedRoot,
      outboxDir,
      logPath: logRoute.path,
      ledger,
      extract,
      ...(ledgerMigration === undefined ? {} : { ledgerMigration }),
      simulateFailure(step) {
        glue.simulateFailure(step === 'crawler' || step === 'glue-job' ? step : undefined);
        // The manifest is written last: refusing it makes publishing roll back the files it already
        // wrote, so the failure shows that path too, not only a refusal at the first write.
        s3.denyWritesUnder(LOCAL_STAGE.extractBucket, step === 'publish' ? keyPatternPrefix(extract.definition.output.keys.manifest) : undefined);
      },
      simulateCrash(writes) {
        s3.killAfterWrites(LOCAL_STAGE.extractBucket, EXTRACTS_PREFIX, writes);
      },
      startExecution(input, onEvent) {
        const execution = startExecution(local, lambdas, input, onEvent);
        void execution.result.then(
          (result) => {
            const ran = (result.output as { month?: unknown } | undefined)?.month;
            const month = typeof ran === 'string' ? ran : monthOfInput(input, result.startedAt, extract);
            if (month) leftStaging.push({ extract: extractId, month, runId: result.name });
          },
          () => undefined,
        );
        return execution;
      },
      async releaseDeadExecution(record, cause) {
        const input = { extract: record.extract, month: record.month, ...(record.force ? { force: true } : {}) };
        const stopped: ExecutionResult = {
          executionArn: record.executionArn,
          name: record.runId,
          status: 'ABORTED',
          startedAt: new Date(record.startedAt),
          stoppedAt: new Date(),
          cause,
        };
        const notice = await sendStatusChange(lambdas, stopped, input);
        let error = notice.error;
        // NotifyFailure marks nothing when the execution's failure was already claimed (it died
        // inside NotifyFailure): the month is freed here, on the same condition (it still holds it).
        const after = await ledger.get(record.extract, record.month);
        if (after?.status === 'RUNNING' && after.executionArn === record.executionArn) {
          const failure = { failedStep: '(execution ABORTED)', error: 'ExecutionAborted', cause };
          await ledger
            .fail({ extract: record.extract, month: record.month, executionArn: record.executionArn, runId: record.runId, failure, now: new Date() })
            .catch((failed: unknown) => (error ??= (failed as Error).message));
        }
        const stagingProblem = await removeStaging(record.extract, record.month, record.runId);
        error ??= stagingProblem;
        return { emailed: notice.emailed, ...(error === undefined ? {} : { error }), ...(notice.publishing ? { publishing: notice.publishing } : {}) };
      },
      syncPublishedFiles: () => s3.mirrorPrefix(LOCAL_STAGE.extractBucket, EXTRACTS_PREFIX, publishedRoot),
      async stop() {
        await lambdas.idle();
        await glue.idle();
        for (const { extract: extractOfRun, month, runId } of leftStaging.splice(0)) {
          const problem = await removeStaging(extractOfRun, month, runId);
          if (problem) console.error(`  ${problem}`);
        }
        await logRoute.restore();
        await closeAll(started);
      },
    };
  } catch (error) {
    await logs?.restore();
    await closeAll(started);
    throw error;
  }
}

/** The S3 stand-in's key pair; the other stand-ins accept any. */
const STAND_IN_CREDENTIALS = S3_STAND_IN_CREDENTIALS;

/**
 * Puts the extract's folder in the scripts bucket stand-in at `extracts/<id>/<file>`, the keys the
 * glue-assets plugin deploys it to, so ResolveRun reads the definition as it does on AWS.
 */
async function deployExtract(s3: S3Client, extract: ExtractFolder): Promise<void> {
  const prefix = extractFolderKey(extract.definition.id);
  for (const file of extract.files) {
    const body = await readFile(join(extract.dir, file));
    await s3.send(new PutObjectCommand({ Bucket: LOCAL_STAGE.scriptsBucket, Key: `${prefix}${file.split(/[\\/]/).join('/')}`, Body: body }));
  }
}

/** What each deployed Lambda gets from serverless.yml, with local values, plus the SDK's endpoint settings. */
export function lambdaEnvironment(
  options: { readonly extractIds: readonly string[] },
  endpoints: { s3: LoopbackServer; dynamo: LoopbackServer; glue: GlueStandIn | LoopbackServer; sns: LoopbackServer },
  params: Record<string, unknown> = readServerlessParams(MIRRORED_STAGE),
): Record<string, string> {
  return {
    STAGE: LOCAL_STAGE.stage,
    RUN_LEDGER_TABLE: LOCAL_STAGE.ledgerTable,
    RUN_LEASE_MINUTES: String(LOCAL_STAGE.leaseMinutes),
    GLUE_CRAWLER_NAME: LOCAL_STAGE.crawlerName,
    GLUE_JOB_NAME_PREFIX: LOCAL_STAGE.jobNamePrefix,
    EXTRACT_BUCKET: LOCAL_STAGE.extractBucket,
    EXTRACT_DEFINITIONS_BUCKET: LOCAL_STAGE.scriptsBucket,
    EXTRACT_IDS: options.extractIds.join(','),
    ALERT_TOPIC_ARN,
    STATE_MACHINE_ARN,
    // As serverless.yml's custom.metricsNamespace names the stage's.
    POWERTOOLS_METRICS_NAMESPACE: `${LOCAL_STAGE.service}/${LOCAL_STAGE.stage}`,
    // No X-Ray daemon here: the tracer records nothing and reaches nothing.
    POWERTOOLS_TRACE_ENABLED: 'false',
    PRICE_GLUE_DPU_HOUR: String(params.priceGlueDpuHour),
    PRICE_STEP_FUNCTIONS_1000_TRANSITIONS: String(params.priceStepFunctions1000Transitions),
    PRICE_LAMBDA_GB_SECOND: String(params.priceLambdaGbSecond),
    PRICE_LAMBDA_1M_REQUESTS: String(params.priceLambda1MRequests),
    AWS_REGION: LOCAL_STAGE.region,
    AWS_ACCESS_KEY_ID: STAND_IN_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STAND_IN_CREDENTIALS.secretAccessKey,
    // A developer's own AWS session must never reach the stand-ins, nor the stand-ins' keys AWS.
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_ENDPOINT_URL_S3: endpoints.s3.url,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamo.url,
    AWS_ENDPOINT_URL_GLUE: endpoints.glue.url,
    AWS_ENDPOINT_URL_SNS: endpoints.sns.url,
    // No S3 path-style setting: the SDK uses path-style by itself for an endpoint that is an IP address.
  };
}

function startExecution(
  local: LocalDefinition,
  lambdas: LocalLambdas,
  input: unknown,
  onEvent?: (event: EventLog) => void,
): LocalExecution {
  const name = randomUUID();
  const executionArn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
  const machine = new StateMachine(local.definition as never);
  const startedAt = new Date();
  let abortCause: string | undefined;
  const execution = machine.run(input as never, {
    overrides: localOverrides(local, (_state, key, payload) => lambdas.invoke.get(key)!(payload), {
      waitMs: LOCAL_WAIT_MS,
      retryIntervalMs: LOCAL_RETRY_INTERVAL_MS,
    }),
    context: { Execution: { Id: executionArn, Name: name, StartTime: startedAt.toISOString() } },
    noThrowOnAbort: true,
  });

  const ended = (async (): Promise<ExecutionResult> => {
    let ended: EventLog | undefined;
    for await (const event of execution.eventLogs) {
      onEvent?.(event);
      if (event.type.startsWith('Execution') && event.type !== 'ExecutionStarted') ended = event;
    }
    const output = await execution.result.catch(() => undefined);
    const base = { executionArn, name, startedAt, stoppedAt: new Date() };
    switch (ended?.type) {
      case 'ExecutionSucceeded':
        return { ...base, status: 'SUCCEEDED', output };
      case 'ExecutionFailed':
        return { ...base, status: 'FAILED', error: ended.Error, cause: String(ended.Cause ?? '') };
      case 'ExecutionTimeout':
        return { ...base, status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds.' };
      default:
        return { ...base, status: 'ABORTED', ...(abortCause === undefined ? {} : { cause: abortCause }) };
    }
  })();
  const result = ended.then(async (outcome) => {
    if (outcome.status === 'SUCCEEDED') return outcome;
    // A stopped execution leaves the handler it was waiting for running (on AWS that Lambda runs on
    // too); locally the status change waits for it, so NotifyFailure finds its publish ended, not mid-copy.
    await lambdas.idle();
    // The EventBridge rule of serverless.yml: a stopped execution reaches NotifyFailure as a status
    // change, which emails only if the Catch path did not (TIMED_OUT, ABORTED, a failed NotifyFailure).
    const ruleError = (await sendStatusChange(lambdas, outcome, input)).error;
    return ruleError ? { ...outcome, statusChangeError: ruleError } : outcome;
  });
  const abort = (cause?: string) => {
    abortCause ??= cause;
    execution.abort();
  };
  return { executionArn, name, result, abort };
}

/** The function the execution status-change rule targets. */
const STATUS_CHANGE_TARGET = 'notifyFailure';

/** Invokes the status-change rule's target with the event of `outcome`; never throws. */
async function sendStatusChange(lambdas: LocalLambdas, outcome: ExecutionResult, input: unknown): Promise<{ emailed: boolean; error?: string; publishing?: string }> {
  const statusChange = lambdas.invoke.get(STATUS_CHANGE_TARGET);
  if (!statusChange) return { emailed: false, error: `serverless.yml deploys no ${STATUS_CHANGE_TARGET} function` };
  return statusChange(statusChangeEvent(outcome, input)).then(
    (notice) => {
      const { emailed, publishing } = (notice ?? {}) as { emailed?: unknown; publishing?: unknown };
      return { emailed: emailed === true, ...(typeof publishing === 'string' ? { publishing } : {}) };
    },
    (error: unknown) => ({ emailed: false, error: lambdaErrorText(error as Error) }),
  );
}

/** A Lambda error as a line: `errorType: errorMessage` out of its JSON cause. */
function lambdaErrorText(error: Error): string {
  try {
    const cause = JSON.parse(error.message) as { errorType?: string; errorMessage?: string };
    if (typeof cause.errorMessage === 'string') return `${cause.errorType ?? error.name}: ${cause.errorMessage}`;
  } catch {
    // not a Lambda error's JSON cause
  }
  return error.message;
}

/** The month an execution with this input runs, as ResolveRun resolves it; undefined for bad input, or another extract's (it took no month here). */
function monthOfInput(input: unknown, startedAt: Date, extract: ExtractFolder): string | undefined {
  try {
    if (runInputExtract(input) !== extract.definition.id) return undefined;
    return formatMonth(parseRunInput(input, startedAt, extract.definition.schedule.timeZone).month);
  } catch {
    return undefined;
  }
}

/** Deletes every object (and version) under the run's staging prefix, as the bucket's lifecycle rule does on AWS. */
async function removeStagingOf(s3: S3Client, extractId: string, month: string, runId: string): Promise<void> {
  const prefix = stagingPrefixFor(extractId, month, runId);
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: LOCAL_STAGE.extractBucket, Prefix: prefix }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map(({ Key, VersionId }) => ({ Key, VersionId }));
    if (objects.length === 0) return;
    const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: LOCAL_STAGE.extractBucket, Delete: { Objects: objects, Quiet: true } }));
    if (deleted.Errors?.length) {
      const [first] = deleted.Errors;
      throw new Error(`could not remove the staging ${prefix}: ${first!.Key}: ${first!.Code} ${first!.Message}`);
    }
  }
}

function statusChangeEvent(outcome: ExecutionResult, input: unknown) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: LOCAL_STAGE.account,
    time: outcome.stoppedAt.toISOString(),
    region: LOCAL_STAGE.region,
    resources: [outcome.executionArn],
    detail: {
      executionArn: outcome.executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: outcome.name,
      status: outcome.status,
      startDate: outcome.startedAt.getTime(),
      stopDate: outcome.stoppedAt.getTime(),
      input: JSON.stringify(input),
      output: null,
      error: outcome.error ?? null,
      cause: outcome.cause ?? null,
    },
  };
}

async function closeAll(started: { close(): Promise<void> }[]): Promise<void> {
  const errors: unknown[] = [];
  for (const service of started.reverse()) {
    await service.close().catch((error: unknown) => errors.push(error));
  }
  started.length = 0;
  if (errors.length > 0) throw errors[0];
}
