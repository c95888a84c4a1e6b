/**
 * The part of the stack each extract folder adds (docs/new-extract.md), generated from the
 * definitions so a new extract needs no change to serverless.yml or resources/: per extract an
 * EventBridge Scheduler schedule starting the one state machine with `{"extract": "<id>"}`, a Glue
 * job `<service>-<stage>-<id>` running glue/etl.py on the extract's files, the job's two log groups,
 * and the email subscriptions of its recipients to the alert topic (filtered to its failures).
 *
 * osls reads it through scripts/serverless-extract-stack.js (`${file(./scripts/serverless-extract-stack.js):…}`
 * in serverless.yml and resources/), which runs this file in a child process: osls loads plain
 * CommonJS only. Run by hand it prints the same JSON, every extract's deployed settings in one place:
 *
 *   node --import tsx scripts/extract-stack.ts [--stage-recipient data-support@mybigbank.co.za]
 *
 * A definition that is not valid (extracts/folders.ts, core/extract-definition.ts), or whose SQL does
 * not bind on its source model or return its declared columns (local/extract-check.ts, without an
 * ODS), fails the packaging with its ExtractDefinitionError, naming the field.
 */
import { relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { extractFolderKey } from '../functions/core/deployed-extracts';
import { ExtractDefinitionError } from '../functions/core/extract-definition';
import { EXTRACTS_PREFIX, sftpKeyPrefixes } from '../functions/core/extract-keys';
import { loadExtracts, REPOSITORY_ROOT, SHARED_GLUE_FILES, type ExtractFolder } from '../extracts/folders';
import { sqlProblems } from '../local/extract-check';

/**
 * Every extract's Glue job is named `<prefix><id>`; StartExtractJob and GetExtractJobState get the
 * prefix as GLUE_JOB_NAME_PREFIX (serverless.yml takes it from here). Stage-specific names stay
 * serverless variables: osls resolves them in the generated values too.
 */
export const JOB_NAME_PREFIX = '${self:service}-${sls:stage}-';

/**
 * `extract` named the one Glue job before extracts were folders; its log groups are kept
 * (resources/glue.yml), so a job of that name would clash with them.
 */
const RESERVED_IDS = new Set(['extract']);

/** EventBridge Scheduler's limit on a schedule's description. */
const SCHEDULE_DESCRIPTION_MAX = 512;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type CfnResource = { Type: string; Properties: Record<string, Json> };

export interface ExtractStackOptions {
  /**
   * Addresses the stage already subscribes to every alert (serverless.yml `supportEmail`): no
   * second, filtered subscription for them. SNS refuses a second subscription of one address to one
   * topic with other attributes, and they get each extract's failures anyway.
   */
  readonly stageRecipients?: readonly string[];
}

/** A file the glue-assets plugin uploads: `source` relative to the service directory, `key` in the scripts bucket. */
export interface GlueAsset {
  readonly source: string;
  readonly key: string;
}

export interface ExtractStack {
  /** Merged into serverless.yml `resources:`. */
  readonly resources: { Resources: Record<string, CfnResource>; Outputs: Record<string, Json> };
  /** Every extract id, comma-separated (the missed-month check's EXTRACT_IDS). */
  readonly extractIds: string;
  /** ARN of each extract's Glue job (StartExtractJob's and GetExtractJobState's policies). */
  readonly jobArns: Json[];
  /** The log groups of every job (the Glue job role writes to these only). */
  readonly jobLogGroupArns: Json[];
  /**
   * The same log groups' ARNs built from their names, as CloudWatch Logs names them in the stage
   * key's encryption context (resources/security.yml): the key policy cannot GetAtt groups that are
   * encrypted with the key.
   */
  readonly jobLogGroupKeyArns: Json[];
  /** GLUE_JOB_NAME_PREFIX: each job is `<jobNamePrefix><extract id>`. */
  readonly jobNamePrefix: string;
  /**
   * The SFTP user's S3 statements (resources/sftp.yml): list and read only the keys of the extracts
   * whose definition says `delivery.sftp`, and list the folders above them to get there.
   */
  readonly sftpReadStatements: Json[];
  /** The files every job shares (at their repository paths) and each extract's (at `extracts/<id>/<file>`), uploaded by scripts/serverless-glue-assets.js. */
  readonly glueAssets: GlueAsset[];
}

/** `loan-moving-average` → `LoanMovingAverage`: the extract's part of its resources' logical ids. */
export function logicalIdOf(id: string): string {
  return id
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** `branch-reporting@mybigbank.co.za` → `BranchReportingMybigbankCoZa`. */
function logicalIdOfAddress(address: string): string {
  return address
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

const sub = (text: string): Json => ({ 'Fn::Sub': text });
const ref = (name: string): Json => ({ Ref: name });
const getAtt = (name: string, attribute = 'Arn'): Json => ({ 'Fn::GetAtt': [name, attribute] });

/** The Glue job's name; StartExtractJob starts `${GLUE_JOB_NAME_PREFIX}<id>`. */
export const jobNameOf = (id: string) => `${JOB_NAME_PREFIX}${id}`;

/** An extract file's key in the scripts bucket (where --extra-files and ResolveRun find it). */
const scriptsKeyOf = (id: string, file: string) => `${extractFolderKey(id)}${file}`;

function scheduleOf(folder: ExtractFolder): CfnResource {
  const { id, description, schedule } = folder.definition;
  return {
    Type: 'AWS::Scheduler::Schedule',
    Properties: {
      // Unique within the stack's own group (resources/schedule.yml), which names the stage.
      Name: id,
      GroupName: ref('ScheduleGroup'),
      Description: description,
      ScheduleExpression: schedule.cron,
      ScheduleExpressionTimezone: schedule.timeZone,
      State: '${param:scheduleState}',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: ref('MonthlyExtractStateMachine'),
        RoleArn: getAtt('SchedulerRole'),
        // No month: the last complete month in the extract's time zone. A retry after midnight on the
        // scheduled day still means the same month until the month ends.
        Input: JSON.stringify({ extract: id }),
        // Scheduler's ceilings: retried with back-off for up to a day, then dead-lettered.
        RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: getAtt('ScheduleDeadLetterQueue') },
      },
    },
  };
}

function logGroupPrefixOf(id: string): string {
  return `/aws-glue/jobs/${jobNameOf(id)}`;
}

function jobOf(folder: ExtractFolder): CfnResource {
  const { id, description } = folder.definition;
  const extraFiles = [...folder.files.map((file) => scriptsKeyOf(id, file)), ...SHARED_GLUE_FILES].map((key) => `s3://\${ScriptsBucket}/${key}`);
  return {
    Type: 'AWS::Glue::Job',
    Properties: {
      Name: jobNameOf(id),
      Description: description,
      Role: getAtt('ExtractJobRole'),
      // Spark 3.5.6, Python 3.11, Java 17: what scripts/setup-spark.sh installs to test etl.py locally.
      GlueVersion: '5.1',
      Command: { Name: 'glueetl', PythonVersion: '3', ScriptLocation: sub('s3://${ScriptsBucket}/glue/etl.py') },
      WorkerType: '${param:glueWorkerType}',
      NumberOfWorkers: '${param:glueNumberOfWorkers}',
      // Minutes. Shorter than the state machine's 4-hour poll ceiling, so Glue ends a stuck run
      // itself (TIMEOUT) and the failure email names the job run.
      Timeout: 180,
      // The state machine decides about re-running; a Glue retry would write the same staging twice.
      MaxRetries: 0,
      // Two different months may run at once (a re-run during the scheduled run); the run ledger
      // never lets two runs of one extract's month start.
      ExecutionProperty: { MaxConcurrentRuns: 2 },
      Connections: { Connections: [ref('OdsConnection')] },
      SecurityConfiguration: ref('GlueSecurityConfiguration'),
      // The run's own arguments (month, window, staging path, run id) come from StartExtractJob.
      DefaultArguments: {
        '--connection_name': ref('OdsConnection'),
        '--extract_id': id,
        // Glue puts these side by side in the job's working directory, where etl.py reads them.
        '--extra-files': sub(extraFiles.join(',')),
        // Every run reads its own window; a bookmark would skip rows an earlier run read.
        '--job-bookmark-option': 'job-bookmark-disable',
        '--enable-metrics': 'true',
        // Glue 5.x logs every job in real time; this prefix moves its two groups to the stack's own
        // (<prefix>/error, <prefix>/output), created below with the stage key and retention.
        '--custom-logGroup-prefix': logGroupPrefixOf(id),
        '--enable-spark-ui': 'false',
      },
    },
  };
}

const LOG_STREAMS = ['error', 'output'] as const;

function logGroupOf(id: string, stream: (typeof LOG_STREAMS)[number]): CfnResource {
  return {
    Type: 'AWS::Logs::LogGroup',
    Properties: {
      LogGroupName: `${logGroupPrefixOf(id)}/${stream}`,
      RetentionInDays: '${param:logRetentionDays}',
      KmsKeyId: getAtt('DataKey'),
    },
  };
}

/** The stack's part for these extracts; throws ExtractDefinitionError on what only the stack can refuse. */
export function extractStack(folders: readonly ExtractFolder[], options: ExtractStackOptions = {}): ExtractStack {
  const Resources: Record<string, CfnResource> = {};
  const Outputs: Record<string, Json> = {};
  const jobArns: Json[] = [];
  const jobLogGroupArns: Json[] = [];
  const jobLogGroupKeyArns: Json[] = [];
  const glueAssets: GlueAsset[] = SHARED_GLUE_FILES.map((path) => ({ source: path, key: path }));
  const logicalIds = new Map<string, string>();
  const problems: string[] = [];

  for (const folder of folders) {
    const { id, description } = folder.definition;
    const logical = logicalIdOf(id);
    const clash = logicalIds.get(logical);
    if (clash !== undefined) {
      problems.push(`extract ${id}: id: names its resources ${logical}* as extract ${clash} does; choose an id that differs in more than dashes`);
      continue;
    }
    logicalIds.set(logical, id);
    if (RESERVED_IDS.has(id)) {
      problems.push(`extract ${id}: id: ${id} is reserved (the log groups of the stack's former single Glue job have that name); choose another`);
    }
    if (description.length > SCHEDULE_DESCRIPTION_MAX) {
      problems.push(`extract ${id}: description: ${description.length} characters; the schedule takes at most ${SCHEDULE_DESCRIPTION_MAX}`);
    }
    const job = `${logical}Job`;
    Resources[`${logical}Schedule`] = scheduleOf(folder);
    Resources[job] = jobOf(folder);
    Resources[`${job}ErrorLogGroup`] = logGroupOf(id, 'error');
    Resources[`${job}OutputLogGroup`] = logGroupOf(id, 'output');
    Outputs[`${job}Name`] = { Description: `Glue Spark job of the extract ${id}`, Value: ref(job) };
    jobArns.push(sub(`arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:job/\${${job}}`));
    jobLogGroupArns.push(getAtt(`${job}ErrorLogGroup`), getAtt(`${job}OutputLogGroup`));
    for (const stream of LOG_STREAMS) {
      jobLogGroupKeyArns.push(sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroupPrefixOf(id)}/${stream}`));
    }
    for (const file of folder.files) {
      const source = relative(REPOSITORY_ROOT, `${folder.dir}${sep}${file}`).split(sep).join('/');
      glueAssets.push({ source, key: scriptsKeyOf(id, file) });
    }
  }

  // One subscription per address, whatever number of extracts it gets the failures of.
  const stageWide = new Set((options.stageRecipients ?? []).map((address) => address.toLowerCase()));
  const extractsByAddress = new Map<string, { address: string; ids: string[] }>();
  for (const folder of folders) {
    for (const address of folder.definition.recipients) {
      const key = address.toLowerCase();
      if (stageWide.has(key)) continue;
      const entry = extractsByAddress.get(key) ?? { address, ids: [] };
      if (!entry.ids.includes(folder.definition.id)) entry.ids.push(folder.definition.id);
      extractsByAddress.set(key, entry);
    }
  }
  const subscriptionIds = new Map<string, string>();
  for (const [key, { address, ids }] of extractsByAddress) {
    const logical = `${logicalIdOfAddress(address)}AlertSubscription`;
    const clash = subscriptionIds.get(logical);
    if (clash !== undefined) {
      problems.push(`extract ${ids[0]}: recipients: ${address} and ${clash} would share the resource ${logical}; write one of them differently`);
      continue;
    }
    subscriptionIds.set(logical, key);
    Resources[logical] = {
      Type: 'AWS::SNS::Subscription',
      Properties: {
        TopicArn: ref('AlertTopic'),
        Protocol: 'email',
        Endpoint: address,
        // Only messages about its extracts (NotifyFailure and CheckMissedMonth set the `extract`
        // message attribute); the alarms, which have none, go to the stage's support address only.
        FilterPolicyScope: 'MessageAttributes',
        FilterPolicy: { extract: ids },
      },
    };
  }

  if (problems.length > 0) throw new ExtractDefinitionError('(all extracts)', problems);
  return {
    resources: { Resources, Outputs },
    extractIds: folders.map((f) => f.definition.id).join(','),
    jobArns,
    jobLogGroupArns,
    jobLogGroupKeyArns,
    jobNamePrefix: JOB_NAME_PREFIX,
    sftpReadStatements: sftpReadStatements(folders),
    glueAssets,
  };
}

/**
 * The folders on the way to a key prefix, each with and without its trailing slash (how a client's
 * path reaches S3 when it lists or opens a folder): `extracts/_manifests/year=` → `extracts/`,
 * `extracts/_manifests`, `extracts/_manifests/`. `extracts` itself is no path (SFTP's `/` is
 * `extracts/`), and a prefix ending in `/` lists itself through `<prefix>*`.
 */
function foldersAbove(prefix: string): string[] {
  const folders: string[] = [];
  for (let at = prefix.indexOf('/'); at >= 0; at = prefix.indexOf('/', at + 1)) {
    const folder = prefix.slice(0, at + 1);
    if (folder !== EXTRACTS_PREFIX) folders.push(folder.slice(0, -1));
    if (folder !== prefix) folders.push(folder);
  }
  return folders;
}

/**
 * The SFTP user may read an opted-in extract's files and manifests (`<prefix>*` of output.keys.file
 * and .manifest: no other extract's keys start so, extractSetProblems) and list the folders on the
 * way to them, which shows the names in those folders but none of the files of another extract.
 * No extract opted in: nothing to read, said explicitly (a policy needs a statement).
 */
function sftpReadStatements(folders: readonly ExtractFolder[]): Json[] {
  const prefixes = sftpKeyPrefixes(folders.map((f) => f.definition));
  const bucket = getAtt('ExtractBucket');
  if (prefixes.length === 0) {
    return [{ Sid: 'NoExtractIsDeliveredBySftp', Effect: 'Deny', Action: ['s3:ListBucket', 's3:GetObject'], Resource: [bucket, sub('${ExtractBucket.Arn}/*')] }];
  }
  const listable = [...new Set([...prefixes.flatMap(foldersAbove), ...prefixes.map((p) => `${p}*`)])];
  return [
    { Sid: 'ListDeliveredExtractsOnly', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: bucket, Condition: { StringLike: { 's3:prefix': listable } } },
    {
      Sid: 'ReadDeliveredExtractsOnly',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: prefixes.map((prefix) => sub(`\${ExtractBucket.Arn}/${prefix}*`)),
    },
  ];
}

/**
 * Every extract folder, checked as the stack needs it: each definition and the set (loadExtracts),
 * and each extract's SQL bound on its source model with the declared columns (sqlProblems).
 */
export async function checkedExtracts(env: NodeJS.ProcessEnv): Promise<ExtractFolder[]> {
  const folders = loadExtracts(env);
  const refused: ExtractDefinitionError[] = [];
  for (const folder of folders) {
    const problems = await sqlProblems(folder);
    if (problems.length > 0) refused.push(new ExtractDefinitionError(folder.definition.id, problems));
  }
  if (refused.length === 1) throw refused[0]!;
  if (refused.length > 1) throw new ExtractDefinitionError('(all extracts)', refused.map((e) => e.message));
  return folders;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'stage-recipient': { type: 'string', multiple: true } } });
  try {
    const stack = extractStack(await checkedExtracts(process.env), { stageRecipients: values['stage-recipient'] ?? [] });
    process.stdout.write(`${JSON.stringify(stack, null, 2)}\n`);
  } catch (error) {
    // The message names the extract and each field (ExtractDefinitionError); osls shows it as is.
    process.stderr.write(`${error instanceof ExtractDefinitionError ? error.message : (error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
