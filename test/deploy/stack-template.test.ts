/**
 * What `osls deploy --stage prod` would stand up, read from the CloudFormation template that
 * `osls package --stage prod` writes offline: every resource of the deployment, and the security
 * properties an auditor checks (encryption, public access, TLS, least privilege, no passwords).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC } from '../../functions/commons/powertools/metrics';
import { findExtract } from '../../extracts/folders';
import { asArray, getAtt, type PackagedStack, packageStack, policyStatements, ref, referencedNames, REPOSITORY_ROOT, resource, resourcesOfType, type Template, walk } from './cloudformation';

let stack: PackagedStack;
let dev: PackagedStack;
let template: Template;

beforeAll(async () => {
  [stack, dev] = await Promise.all([packageStack('prod'), packageStack('dev')]);
  template = stack.template;
}, 240_000);
afterAll(async () => {
  await Promise.all([stack?.remove(), dev?.remove()]);
});


const FUNCTIONS = {
  resolveRun: 'ResolveRun',
  startCrawler: 'StartCrawler',
  getCrawlerState: 'GetCrawlerState',
  startExtractJob: 'StartExtractJob',
  getExtractJobState: 'GetExtractJobState',
  publishExtracts: 'PublishExtracts',
  completeRun: 'CompleteRun',
  notifyFailure: 'NotifyFailure',
  checkMissedMonth: 'CheckMissedMonth',
} as const;

describe('the prod stack, packaged offline', () => {
  it('resolves every serverless variable (no ${opt:…}, ${param:…}, ${self:…} left for CloudFormation)', () => {
    const unresolved = [...walk(template)].filter(([, v]) => typeof v === 'string' && /\$\{(opt|param|self|sls|file|env|ssm|cf|s3):/.test(v));
    expect(unresolved).toEqual([]);
  });

  it('refers only to resources, parameters and pseudo parameters the template defines', () => {
    const defined = new Set([...Object.keys(template.Resources), ...Object.keys(template.Parameters ?? {})]);
    const dangling = referencedNames(template).filter(({ name }) => !name.startsWith('AWS::') && !defined.has(name));
    expect(dangling).toEqual([]);
  });

  it('reads account-specific network values from SSM at deploy time, not from the repository', () => {
    const parameters = template.Parameters ?? {};
    for (const name of ['OdsReaderEndpoint', 'OdsWriterEndpoint', 'GlueSubnetId', 'GlueAvailabilityZone', 'RotationSubnetIds', 'SecurityGroupIds']) {
      expect({ name, type: parameters[name]?.Type.startsWith('AWS::SSM::Parameter::Value<'), default: parameters[name]?.Default }).toEqual({
        name,
        type: true,
        default: expect.stringMatching(/^\/monthly-loan-extract\/prod\//),
      });
    }
  });
});

describe('storage, encryption and the ledger', () => {
  it('has a customer-managed KMS key that rotates', () => {
    const key = resource(template, 'DataKey', 'AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
  });

  it('has the extract bucket and the scripts bucket (and the Athena results bucket)', () => {
    const buckets = resourcesOfType(template, 'AWS::S3::Bucket').map(([id]) => id);
    expect(buckets).toEqual(expect.arrayContaining(['ExtractBucket', 'ScriptsBucket', 'AthenaResultsBucket', 'ServerlessDeploymentBucket']));
  });

  it('encrypts every bucket with SSE-KMS (the data buckets with the stage key), versions it and blocks all public access', () => {
    const buckets = resourcesOfType(template, 'AWS::S3::Bucket');
    expect(buckets.length).toBeGreaterThanOrEqual(4);
    for (const [id, bucket] of buckets) {
      const p = bucket.Properties ?? {};
      const rules = (p.BucketEncryption as { ServerSideEncryptionConfiguration: Array<{ ServerSideEncryptionByDefault: Record<string, unknown> }> })
        .ServerSideEncryptionConfiguration;
      expect({ id, sse: rules.map((r) => r.ServerSideEncryptionByDefault.SSEAlgorithm) }).toEqual({ id, sse: ['aws:kms'] });
      if (id !== 'ServerlessDeploymentBucket') {
        expect({ id, key: rules[0]!.ServerSideEncryptionByDefault.KMSMasterKeyID }).toEqual({ id, key: getAtt('DataKey') });
      }
      expect({ id, block: p.PublicAccessBlockConfiguration }).toEqual({
        id,
        block: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      });
      expect({ id, versioning: p.VersioningConfiguration }).toEqual({ id, versioning: { Status: 'Enabled' } });
    }
  });

  it('denies every request to every bucket that is not over TLS', () => {
    const policies = resourcesOfType(template, 'AWS::S3::BucketPolicy');
    for (const [id] of resourcesOfType(template, 'AWS::S3::Bucket')) {
      const policy = policies.find(([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify(ref(id)));
      expect({ id, hasPolicy: policy !== undefined }).toEqual({ id, hasPolicy: true });
      const statements = (policy![1].Properties!.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
      const denyInsecure = statements.find(
        (s) => s.Effect === 'Deny' && s.Principal === '*' && asArray(s.Action as string[]).includes('s3:*') &&
          String((s.Condition as { Bool?: Record<string, unknown> } | undefined)?.Bool?.['aws:SecureTransport']) === 'false',
      );
      expect({ id, denyInsecure: denyInsecure !== undefined }).toEqual({ id, denyInsecure: true });
      // Both the bucket and its objects.
      expect({ id, resources: asArray(denyInsecure!.Resource).length }).toEqual({ id, resources: 2 });
    }
  });

  it('expires leftover staging and old versions of the extracts', () => {
    const rules = (resource(template, 'ExtractBucket', 'AWS::S3::Bucket').Properties.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'staging/', Status: 'Enabled', ExpirationInDays: expect.any(Number) }),
        expect.objectContaining({ Prefix: 'extracts/', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: expect.any(Number) } }),
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: expect.any(Number) } }),
      ]),
    );
  });

  it('keeps the run ledger with point-in-time recovery, the stage key, and TTL on expiresAt', () => {
    const table = resource(template, 'RunLedgerTable', 'AWS::DynamoDB::Table');
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: getAtt('DataKey') },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table.DeletionPolicy).toBe('Retain');
  });
});

describe('Glue, the ODS login and its rotation', () => {
  it('connects to the Aurora reader over JDBC with the login from Secrets Manager, never a password', () => {
    const connection = resource(template, 'OdsConnection', 'AWS::Glue::Connection').Properties.ConnectionInput as Record<string, Record<string, unknown>>;
    expect(connection.ConnectionType).toBe('JDBC');
    expect(connection.ConnectionProperties).toEqual({
      JDBC_CONNECTION_URL: { 'Fn::Sub': 'jdbc:postgresql://${OdsReaderEndpoint}:5432/ods' },
      SECRET_ID: ref('OdsSecret'),
      JDBC_ENFORCE_SSL: 'true',
    });
    expect(connection.PhysicalConnectionRequirements).toEqual({
      SubnetId: ref('GlueSubnetId'),
      AvailabilityZone: ref('GlueAvailabilityZone'),
      SecurityGroupIdList: ref('SecurityGroupIds'),
    });
  });

  it('generates the ODS password in Secrets Manager, encrypted with the stage key, and rotates it', () => {
    const secret = resource(template, 'OdsSecret', 'AWS::SecretsManager::Secret').Properties;
    expect(secret.SecretString).toBeUndefined();
    expect(secret.KmsKeyId).toEqual(getAtt('DataKey'));
    expect(secret.GenerateSecretString).toMatchObject({ GenerateStringKey: 'password', PasswordLength: expect.any(Number) });
    const rotation = resource(template, 'OdsSecretRotation', 'AWS::SecretsManager::RotationSchedule').Properties;
    expect(rotation).toMatchObject({
      SecretId: ref('OdsSecret'),
      RotationRules: { ScheduleExpression: expect.stringMatching(/^rate\(\d+ days\)$/) },
      HostedRotationLambda: { RotationType: 'PostgreSQLSingleUser', KmsKeyArn: getAtt('DataKey') },
    });
    expect(asArray(template.Transform)).toContainEqual(expect.stringMatching(/^AWS::SecretsManager-/));
  });

  it('has no literal password anywhere in the template', () => {
    const offending = [...walk(template)].filter(([path, value]) => {
      if (typeof value !== 'string' || value.startsWith('{{resolve:secretsmanager:')) return false;
      const key = path.split('.').pop() ?? '';
      // A property named like a password holding text (GenerateStringKey only names the JSON key to generate).
      if (/passw(or)?d|pwd/i.test(key) && !path.endsWith('.GenerateStringKey')) return true;
      // key=value or "key": "value" inside a string (a JDBC URL, a secret template).
      return /(passw(or)?d|pwd)\s*["']?\s*[:=]\s*["']?[^"'\s,}{$]/i.test(value);
    });
    expect(offending).toEqual([]);
  });

  it('has no password in serverless.yml or resources/ either', () => {
    const files = ['serverless.yml', ...readdirSync(join(REPOSITORY_ROOT, 'resources')).map((f) => `resources/${f}`)];
    const offending = files.flatMap((file) =>
      readFileSync(join(REPOSITORY_ROOT, file), 'utf8')
        .split('\n')
        .map((line, i) => ({ at: `${file}:${i + 1}`, code: line.replace(/(^|\s)#.*$/, '') }))
        // A key ending in "password" (MasterUserPassword:, password=), not PasswordLength.
        .filter(({ code }) => /(passw(or)?d|pwd)(?![a-z])\s*["']?\s*[:=]\s*\S/i.test(code)),
    );
    expect(offending).toEqual([]);
  });

  it('crawls the ODS schema into the Glue database through the connection', () => {
    expect(resource(template, 'GlueDatabase', 'AWS::Glue::Database').Properties).toMatchObject({ DatabaseInput: { Name: 'monthly_loan_extract_prod' } });
    expect(resource(template, 'OdsCrawler', 'AWS::Glue::Crawler').Properties).toMatchObject({
      DatabaseName: ref('GlueDatabase'),
      Targets: { JdbcTargets: [{ ConnectionName: ref('OdsConnection'), Path: 'ods/public/%' }] },
      CrawlerSecurityConfiguration: ref('GlueSecurityConfiguration'),
    });
  });

  it("runs glue/etl.py for the loan extract as a Glue 5.1 Spark job of its own, with its folder's files and the shared glue/ files as --extra-files, the connection, and bookmarks off", () => {
    const job = resource(template, 'LoanMovingAverageJob', 'AWS::Glue::Job').Properties;
    expect(job).toMatchObject({
      Name: 'monthly-loan-extract-prod-loan-moving-average',
      Role: getAtt('ExtractJobRole'),
      // The Spark that scripts/setup-spark.sh pins (3.5.6) and the real-Spark tests run.
      GlueVersion: '5.1',
      Command: { Name: 'glueetl', PythonVersion: '3', ScriptLocation: { 'Fn::Sub': 's3://${ScriptsBucket}/glue/etl.py' } },
      WorkerType: 'G.1X',
      NumberOfWorkers: 10,
      MaxRetries: 0,
      Connections: { Connections: [ref('OdsConnection')] },
      SecurityConfiguration: ref('GlueSecurityConfiguration'),
    });
    const args = job.DefaultArguments as Record<string, unknown>;
    expect(args['--connection_name']).toEqual(ref('OdsConnection'));
    expect(args['--job-bookmark-option']).toBe('job-bookmark-disable');
    expect(args['--extract_id']).toBe('loan-moving-average');
    const extraFiles = (args['--extra-files'] as { 'Fn::Sub': string })['Fn::Sub'].split(',');
    expect(extraFiles).toEqual([
      ...['extract.json', 'sql/branch_loans_3m.sql', 'sql/banks.sql', 'sql/rejected_loans.sql', 'sql/read_window.sql'].map(
        (file) => `s3://\${ScriptsBucket}/extracts/loan-moving-average/${file}`,
      ),
      's3://${ScriptsBucket}/glue/extract-layout.json',
      's3://${ScriptsBucket}/glue/rds-ca-bundle.pem',
    ]);
    // Exactly the folder's files (extracts/folders.ts), so what the plugin uploads is what the job gets.
    expect(extraFiles.filter((f) => f.includes('/extracts/')).sort()).toEqual(
      findExtract('loan-moving-average').files.map((file) => `s3://\${ScriptsBucket}/extracts/loan-moving-average/${file}`).sort(),
    );
    // TLS to the ODS is always verified on AWS: only the local runner turns it off.
    expect(args['--ods_sslmode']).toBeUndefined();
    // The run's own arguments come from StartExtractJob (functions/core/start-extract-job.ts), never defaults.
    for (const name of ['--month', '--window_start', '--month_start', '--window_end', '--staging_path', '--run_id']) {
      expect(args[name]).toBeUndefined();
    }
    // Minutes; the state machine stops polling after 240 one-minute polls.
    expect(job.Timeout as number).toBeLessThan(240);
  });

  it('encrypts what Glue writes (S3, logs, bookmarks) with the stage key', () => {
    expect(resource(template, 'GlueSecurityConfiguration', 'AWS::Glue::SecurityConfiguration').Properties.EncryptionConfiguration).toEqual({
      S3Encryptions: [{ S3EncryptionMode: 'SSE-KMS', KmsKeyArn: getAtt('DataKey') }],
      CloudWatchEncryption: { CloudWatchEncryptionMode: 'SSE-KMS', KmsKeyArn: getAtt('DataKey') },
      JobBookmarksEncryption: { JobBookmarksEncryptionMode: 'CSE-KMS', KmsKeyArn: getAtt('DataKey') },
    });
  });
});

describe('the state machine, its schedule and failure emails', () => {
  it('logs every execution to an encrypted log group and traces it with X-Ray', () => {
    const machine = resource(template, 'MonthlyExtractStateMachine', 'AWS::StepFunctions::StateMachine').Properties;
    expect(machine.StateMachineName).toBe('monthly-loan-extract-prod');
    expect(machine.LoggingConfiguration).toEqual({
      Level: 'ALL',
      IncludeExecutionData: true,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: getAtt('StateMachineLogGroup') } }],
    });
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    expect(resource(template, 'StateMachineLogGroup', 'AWS::Logs::LogGroup').Properties.KmsKeyId).toEqual(getAtt('DataKey'));
  });

  it('starts the state machine for the loan extract monthly, at 02:00 on the 1st in Africa/Johannesburg (its definition), with {"extract": "loan-moving-average"} (the last complete month), from its own schedule group', () => {
    const monthly = resource(template, 'LoanMovingAverageSchedule', 'AWS::Scheduler::Schedule').Properties;
    const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = /^cron\((.*)\)$/.exec(monthly.ScheduleExpression as string)![1]!.split(' ');
    expect({ minutes, hours, dayOfMonth, month, dayOfWeek, year }).toEqual({ minutes: '0', hours: '2', dayOfMonth: '1', month: '*', dayOfWeek: '?', year: '*' });
    expect(monthly).toMatchObject({
      Name: 'loan-moving-average',
      GroupName: ref('ScheduleGroup'),
      ScheduleExpressionTimezone: 'Africa/Johannesburg',
      State: 'ENABLED',
      Target: { Arn: ref('MonthlyExtractStateMachine'), RoleArn: getAtt('SchedulerRole') },
    });
    expect(JSON.parse((monthly.Target as { Input: string }).Input)).toEqual({ extract: 'loan-moving-average' });
    // One schedule per extract folder besides the daily check; none left from the single-extract stack.
    expect(resourcesOfType(template, 'AWS::Scheduler::Schedule').map(([id]) => id).sort()).toEqual(['LoanMovingAverageSchedule', 'MissedMonthCheckSchedule']);
    expect(template.Resources.MonthlyExtractSchedule).toBeUndefined();
    expect(resourcesOfType(template, 'AWS::Glue::Job').map(([id]) => id)).toEqual(['LoanMovingAverageJob']);
  });

  it("keeps dev's schedules disabled (scheduleState), whatever the definitions say", () => {
    expect(resource(dev.template, 'LoanMovingAverageSchedule', 'AWS::Scheduler::Schedule').Properties.State).toBe('DISABLED');
  });

  it('retries a refused start for a day, then dead-letters it to a KMS-encrypted queue (the generated schedule had neither)', () => {
    const target = resource(template, 'LoanMovingAverageSchedule', 'AWS::Scheduler::Schedule').Properties.Target as Record<string, unknown>;
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    expect(target.DeadLetterConfig).toEqual({ Arn: getAtt('ScheduleDeadLetterQueue') });
    expect(resource(template, 'ScheduleDeadLetterQueue', 'AWS::SQS::Queue').Properties.KmsMasterKeyId).toEqual(getAtt('DataKey'));
    // serverless-step-functions' own schedule and its role are gone: one definition of the schedule, ours.
    const trustsScheduler = resourcesOfType(template, 'AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties!.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'));
    expect(trustsScheduler.map(([id]) => id)).toEqual(['SchedulerRole']);
    expect(resourcesOfType(template, 'AWS::Scheduler::Schedule').every(([, s]) => (s.Properties!.Target as { DeadLetterConfig?: unknown }).DeadLetterConfig)).toBe(true);
  });

  it("lets only this account's schedules of this stack's group assume the scheduler role, which may start the state machine and dead-letter, nothing else", () => {
    const trust = resource(template, 'SchedulerRole', 'AWS::IAM::Role').Properties.AssumeRolePolicyDocument as { Statement: Array<Record<string, unknown>> };
    expect(trust.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnLike: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/*' } },
        },
      },
    ]);
    const policy = resource(template, 'SchedulerPolicy', 'AWS::IAM::Policy').Properties;
    expect(policy.Roles).toEqual([ref('SchedulerRole')]);
    const statements = (policy.PolicyDocument as { Statement: Array<{ Action: string[]; Resource: unknown }> }).Statement;
    expect(statements.map((s) => [s.Action, s.Resource])).toEqual(
      expect.arrayContaining([
        [['states:StartExecution'], ref('MonthlyExtractStateMachine')],
        [['sqs:SendMessage'], getAtt('ScheduleDeadLetterQueue')],
      ]),
    );
    // The key lets the role (and only through SQS) encrypt the dead letter.
    const keyStatements = (resource(template, 'DataKey', 'AWS::KMS::Key').Properties.KeyPolicy as { Statement: Array<Record<string, unknown>> }).Statement;
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Principal: { AWS: getAtt('SchedulerRole') },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'sqs.${AWS::Region}.amazonaws.com' } } },
      }),
    );
  });

  it('runs the missed-month check daily at 08:00 in the stage time zone, through the scheduler role, dead-lettered too', () => {
    const check = resource(template, 'MissedMonthCheckSchedule', 'AWS::Scheduler::Schedule').Properties;
    expect(check).toMatchObject({
      GroupName: ref('ScheduleGroup'),
      ScheduleExpression: 'cron(0 8 * * ? *)',
      ScheduleExpressionTimezone: 'Africa/Johannesburg',
      State: 'ENABLED',
      Target: { Arn: getAtt('CheckMissedMonthLambdaFunction'), RoleArn: getAtt('SchedulerRole'), DeadLetterConfig: { Arn: getAtt('ScheduleDeadLetterQueue') } },
    });
    const statements = (resource(template, 'SchedulerPolicy', 'AWS::IAM::Policy').Properties.PolicyDocument as { Statement: Array<{ Action: string[]; Resource: unknown }> }).Statement;
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['lambda:InvokeFunction'], Resource: getAtt('CheckMissedMonthLambdaFunction') }));
    const env = (resource(template, 'CheckMissedMonthLambdaFunction', 'AWS::Lambda::Function').Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toEqual({
      POWERTOOLS_METRICS_NAMESPACE: 'monthly-loan-extract/prod',
      RUN_LEDGER_TABLE: ref('RunLedgerTable'),
      ALERT_TOPIC_ARN: ref('AlertTopic'),
      STAGE: 'prod',
      STATE_MACHINE_ARN: ref('MonthlyExtractStateMachine'),
      // Every deployed extract is checked, its calendar read from its definition.
      EXTRACT_IDS: 'loan-moving-average',
      EXTRACT_DEFINITIONS_BUCKET: ref('ScriptsBucket'),
    });
    // It reads extract months (the loan extract's old month#… records too) and claims missed#… items only.
    const dynamo = policyStatements(template).filter((s) => s.where.startsWith('CheckMissedMonthRole ') && asArray(s.statement.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.map((s) => [asArray(s.statement.Action), s.statement.Condition])).toEqual([
      [['dynamodb:GetItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['extract#*'] } }],
      [['dynamodb:GetItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['month#*'] } }],
      [['dynamodb:PutItem', 'dynamodb:DeleteItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['missed#*'] } }],
    ]);
  });

  it('emails support through a KMS-encrypted topic with an unfiltered email subscription to data-support@mybigbank.co.za, which is also the loan extract\'s recipient (no second subscription)', () => {
    expect(resource(template, 'AlertTopic', 'AWS::SNS::Topic').Properties.KmsMasterKeyId).toEqual(getAtt('DataKey'));
    expect(resource(template, 'AlertEmailSubscription', 'AWS::SNS::Subscription').Properties).toEqual({
      TopicArn: ref('AlertTopic'),
      Protocol: 'email',
      Endpoint: 'data-support@mybigbank.co.za',
    });
    expect(findExtract('loan-moving-average').definition.recipients).toEqual(['data-support@mybigbank.co.za']);
    // SNS refuses a second subscription of one address to one topic with other attributes.
    expect(resourcesOfType(template, 'AWS::SNS::Subscription').map(([id]) => id)).toEqual(['AlertEmailSubscription']);
    expect(resource(template, 'NotifyFailureLambdaFunction', 'AWS::Lambda::Function').Properties.Environment).toMatchObject({
      Variables: { ALERT_TOPIC_ARN: ref('AlertTopic') },
    });
  });

  it('sends FAILED, TIMED_OUT and ABORTED executions of this state machine to NotifyFailure, which EventBridge may invoke', () => {
    const rule = resource(template, 'ExecutionFailedRule', 'AWS::Events::Rule').Properties;
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [ref('MonthlyExtractStateMachine')] },
    });
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: getAtt('NotifyFailureLambdaFunction'), DeadLetterConfig: { Arn: getAtt('AlertsDeadLetterQueue') } })]);
    expect(resource(template, 'NotifyFailureInvokedByStatusChangeRule', 'AWS::Lambda::Permission').Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      FunctionName: getAtt('NotifyFailureLambdaFunction'),
      Principal: 'events.amazonaws.com',
      SourceArn: getAtt('ExecutionFailedRule'),
    });
  });

  it('alarms to the alert topic when a scheduled start is refused, dropped or dead-lettered, NotifyFailure fails, or a failure could not be emailed', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
    const metricsOf = (a: Record<string, unknown>) =>
      a.MetricName
        ? [{ metric: `${a.Namespace as string}/${a.MetricName as string}`, dimensions: a.Dimensions }]
        : (a.Metrics as Array<{ MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown } } }>)
            .filter((m) => m.MetricStat)
            .map((m) => ({ metric: `${m.MetricStat!.Metric.Namespace}/${m.MetricStat!.Metric.MetricName}`, dimensions: m.MetricStat!.Metric.Dimensions }));
    const watched = alarms.flatMap(metricsOf);
    expect(watched.map((w) => w.metric)).toEqual(
      expect.arrayContaining([
        'AWS/Scheduler/TargetErrorCount',
        'AWS/Scheduler/InvocationDroppedCount',
        'AWS/Scheduler/InvocationsFailedToBeSentToDeadLetterCount',
        'AWS/Lambda/Errors',
        'AWS/SQS/ApproximateNumberOfMessagesVisible',
      ]),
    );
    // ExecutionThrottled counts throttled state transitions, not refused starts: not alarmed on.
    expect(watched.map((w) => w.metric)).not.toContain('AWS/States/ExecutionThrottled');
    for (const w of watched.filter((x) => x.metric.startsWith('AWS/Scheduler/'))) {
      expect(w.dimensions).toEqual([{ Name: 'ScheduleGroup', Value: ref('ScheduleGroup') }]);
    }
    const queues = watched.filter((w) => w.metric === 'AWS/SQS/ApproximateNumberOfMessagesVisible').map((w) => w.dimensions);
    expect(queues).toEqual(
      expect.arrayContaining([
        [{ Name: 'QueueName', Value: getAtt('ScheduleDeadLetterQueue', 'QueueName') }],
        [{ Name: 'QueueName', Value: getAtt('AlertsDeadLetterQueue', 'QueueName') }],
      ]),
    );
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([ref('AlertTopic')]);
  });

  it("gives the handlers the extracts' definitions (each its own time zone), each extract's job name, and a lease longer than the 18 000 s execution timeout", () => {
    const env = (fn: string) => (resource(template, `${fn}LambdaFunction`, 'AWS::Lambda::Function').Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Number(env('ResolveRun').RUN_LEASE_MINUTES) * 60).toBeGreaterThan(18_000);
    // The months are each extract's calendar's (its definition), no stage-wide time zone.
    for (const fn of ['ResolveRun', 'NotifyFailure', 'CheckMissedMonth']) {
      expect({ fn, bucket: env(fn).EXTRACT_DEFINITIONS_BUCKET, timeZone: env(fn).STAGE_TIME_ZONE }).toEqual({ fn, bucket: ref('ScriptsBucket'), timeZone: undefined });
    }
    expect(env('NotifyFailure')).toMatchObject({ STAGE: 'prod', RUN_LEDGER_TABLE: ref('RunLedgerTable') });
    // Each extract's job is the prefix and the extract id (the stack's Glue jobs are named so).
    expect(env('StartExtractJob')).toEqual({
      GLUE_JOB_NAME_PREFIX: 'monthly-loan-extract-prod-',
      EXTRACT_BUCKET: ref('ExtractBucket'),
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    });
    expect(env('GetExtractJobState')).toEqual({ GLUE_JOB_NAME_PREFIX: 'monthly-loan-extract-prod-', POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE });
    for (const [id, job] of resourcesOfType(template, 'AWS::Glue::Job')) {
      const name = job.Properties!.Name as string;
      expect({ id, name }).toEqual({ id, name: `monthly-loan-extract-prod-${(job.Properties!.DefaultArguments as Record<string, string>)['--extract_id']}` });
    }
  });
});

const METRICS_NAMESPACE = 'monthly-loan-extract/prod';

describe('metrics, cost and the dashboard', () => {
  const env = (fn: string) => (resource(template, `${fn}LambdaFunction`, 'AWS::Lambda::Function').Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  /** The dashboard's body as CloudWatch gets it (the region substituted). */
  const dashboardBody = () => {
    const body = resource(template, 'PipelineDashboard', 'AWS::CloudWatch::Dashboard').Properties.DashboardBody as { 'Fn::Sub': string };
    return JSON.parse(body['Fn::Sub'].replaceAll('${AWS::Region}', 'af-south-1')) as {
      widgets: Array<{ type: string; properties: { title: string; region: string; query?: string; metrics?: unknown[][] } }>;
    };
  };

  it('gives every Lambda the stage\'s metrics namespace (Powertools Metrics writes EMF to the logs: no PutMetricData, no permission)', () => {
    for (const fn of Object.values(FUNCTIONS)) expect({ fn, namespace: env(fn).POWERTOOLS_METRICS_NAMESPACE }).toEqual({ fn, namespace: METRICS_NAMESPACE });
    const lambdaRoles = Object.values(FUNCTIONS).map((fn) => `${fn}Role `);
    const lambdaCloudWatch = policyStatements(template).filter(
      ({ where, statement }) => lambdaRoles.some((role) => where.startsWith(role)) && asArray(statement.Action).some((a) => String(a).startsWith('cloudwatch:')),
    );
    expect(lambdaCloudWatch).toEqual([]);
  });

  it('gives PublishExtracts the stage\'s list prices as decimal strings, and no other function any price', () => {
    const prices = Object.fromEntries(Object.entries(env('PublishExtracts')).filter(([name]) => name.startsWith('PRICE_')));
    expect(prices).toEqual({
      PRICE_GLUE_DPU_HOUR: '0.44',
      PRICE_STEP_FUNCTIONS_1000_TRANSITIONS: '0.025',
      PRICE_LAMBDA_GB_SECOND: '0.0000133334',
      PRICE_LAMBDA_1M_REQUESTS: '0.20',
    });
    for (const fn of Object.values(FUNCTIONS).filter((f) => f !== 'PublishExtracts')) {
      expect({ fn, prices: Object.keys(env(fn)).filter((name) => name.startsWith('PRICE_')) }).toEqual({ fn, prices: [] });
    }
  });

  it('has a dashboard of the stage: outcome per month, duration, rows per bank, rejected rows and cost', () => {
    const { widgets } = dashboardBody();
    expect(widgets.map((w) => w.properties.title)).toEqual([
      'Outcome per month (latest first)',
      'Runs succeeded and failed',
      "Run duration and the Spark job's (seconds)",
      'Handler duration per state (ms)',
      'Rows per bank',
      'Rejected rows per reason',
      'Estimated cost per run (USD) and Glue DPU-seconds',
    ]);
    for (const widget of widgets) expect(widget.properties.region).toBe('af-south-1');
    expect(resource(template, 'PipelineDashboard', 'AWS::CloudWatch::Dashboard').Properties.DashboardName).toBe('monthly-loan-extract-prod');
    // The outcome table reads the EMF lines of the two handlers that end a run, by their log groups.
    const query = widgets[0]!.properties.query!;
    expect(query).toContain("SOURCE '/aws/lambda/monthly-loan-extract-prod-completeRun'");
    expect(query).toContain("SOURCE '/aws/lambda/monthly-loan-extract-prod-notifyFailure'");
    for (const fn of ['completeRun', 'notifyFailure']) {
      expect(resource(template, `${fn[0]!.toUpperCase()}${fn.slice(1)}LogGroup`, 'AWS::Logs::LogGroup').Properties.LogGroupName).toBe(`/aws/lambda/monthly-loan-extract-prod-${fn}`);
    }
  });

  it('graphs only metrics the handlers emit, in the namespace and with the dimensions they emit them with', () => {
    const emitted = new Set<string>(Object.values(METRIC));
    const graphed: string[] = [];
    for (const widget of dashboardBody().widgets.filter((w) => w.type === 'metric')) {
      for (const line of widget.properties.metrics!) {
        const [first] = line;
        if (typeof first === 'object' && first !== null && 'expression' in first) {
          const search = /^SEARCH\('\{"([^"]+)",(\w+),service\} MetricName="(\w+)"'/.exec(String((first as { expression: string }).expression));
          if (search) {
            expect(search[1]).toBe(METRICS_NAMESPACE);
            graphed.push(search[3]!);
          }
          continue;
        }
        expect(line.slice(0, 1)).toEqual([METRICS_NAMESPACE]);
        expect(line.slice(2, 5)).toEqual(['service', 'monthly-loan-extract', 'handler']);
        graphed.push(String(line[1]));
      }
    }
    expect(graphed.filter((name) => !emitted.has(name))).toEqual([]);
    expect(new Set(graphed)).toEqual(new Set([METRIC.runSucceeded, METRIC.runFailed, METRIC.runDuration, METRIC.extractJobDuration, METRIC.handlerDuration, METRIC.fileRows, METRIC.rowsPublished, METRIC.rowsRejected, METRIC.estimatedCost, METRIC.glueDpuSeconds]));
  });
});

describe('analysts and the external system', () => {
  it('lets analysts query the extracts in an Athena workgroup whose results are KMS-encrypted and enforced', () => {
    expect(resource(template, 'AnalystsWorkGroup', 'AWS::Athena::WorkGroup').Properties.WorkGroupConfiguration).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      ResultConfiguration: {
        OutputLocation: { 'Fn::Sub': 's3://${AthenaResultsBucket}/results/' },
        EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: getAtt('DataKey') },
      },
    });
  });

  it('describes the published rows as a Glue table over their Parquet copies, with partition projection over the contract key layout', () => {
    const input = resource(template, 'BranchLoansTable', 'AWS::Glue::Table').Properties.TableInput as Record<string, Record<string, unknown>>;
    expect(input.Parameters).toMatchObject({
      classification: 'parquet',
      'projection.enabled': 'true',
      'storage.location.template': { 'Fn::Sub': 's3://${ExtractBucket}/analytics/bank_name=${!bank}/year=${!year}/month=${!month_of_year}/' },
    });
    // Parquet, not Athena's CSV SerDe: that one reads no decimal and splits a quoted line break into two rows.
    expect(input.StorageDescriptor!.SerdeInfo).toEqual({ SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' });
    const columns = (input.StorageDescriptor!.Columns as Array<{ Name: string; Type: string }>).map((c) => `${c.Name} ${c.Type}`);
    expect(columns).toEqual([
      'bank_name string',
      'branch_id bigint',
      'branch_address string',
      'month string',
      'loan_count bigint',
      'loan_amount bigint',
      'loan_count_3m bigint',
      'loan_amount_3m bigint',
      'moving_avg_3m decimal(20,2)',
    ]);
  });

  it("gives the external system read-only SFTP access to the loan extract's files and manifests only (service-managed user, key from SSM, logical home)", () => {
    expect(template.Conditions?.SftpEnabled).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect(resource(template, 'SftpServer', 'AWS::Transfer::Server').Properties).toMatchObject({
      IdentityProviderType: 'SERVICE_MANAGED',
      Protocols: ['SFTP'],
      SecurityPolicyName: expect.stringMatching(/^TransferSecurityPolicy-20\d\d/),
    });
    expect(resource(template, 'SftpUser', 'AWS::Transfer::User').Properties).toMatchObject({
      HomeDirectoryType: 'LOGICAL',
      HomeDirectoryMappings: [{ Entry: '/', Target: { 'Fn::Sub': '/${ExtractBucket}/extracts' } }],
      SshPublicKeys: ['{{resolve:ssm:/monthly-loan-extract/prod/sftp/ssh-public-key:1}}'],
      Role: getAtt('SftpUserRole'),
    });
    const statements = policyStatements(template).filter((s) => s.where.startsWith('SftpUserRole '));
    const actions = statements.flatMap((s) => asArray(s.statement.Action));
    expect(actions.sort()).toEqual(['kms:Decrypt', 's3:GetObject', 's3:GetObjectVersion', 's3:ListBucket']);
    // The loan extract says "delivery": {"sftp": true}: its files and manifests, as before any other extract existed.
    const reads = statements.filter((s) => asArray(s.statement.Action).some((a) => a.startsWith('s3:Get')));
    expect(reads.map((s) => s.statement.Resource)).toEqual([
      [{ 'Fn::Sub': '${ExtractBucket.Arn}/extracts/bank_name=*' }, { 'Fn::Sub': '${ExtractBucket.Arn}/extracts/_manifests/year=*' }],
    ]);
    const lists = statements.filter((s) => asArray(s.statement.Action).includes('s3:ListBucket'));
    expect(lists.map((s) => [s.statement.Resource, s.statement.Condition])).toEqual([
      [
        getAtt('ExtractBucket'),
        // The folders on the way (/, /_manifests), then everything under the extract's prefixes.
        { StringLike: { 's3:prefix': ['extracts/', 'extracts/_manifests', 'extracts/_manifests/', 'extracts/bank_name=*', 'extracts/_manifests/year=*'] } },
      ],
    ]);
    expect(statements.every((s) => s.statement.Effect === 'Allow')).toBe(true);
  });
});

/**
 * Where AWS offers nothing narrower than `Resource: "*"`, by action, and why. Every other Allow
 * statement in the template must name its resources.
 */
const STAR_RESOURCE_ALLOWED: Record<string, string> = {
  'xray:PutTraceSegments': 'X-Ray trace writes have no resource-level permissions',
  'xray:PutTelemetryRecords': 'X-Ray trace writes have no resource-level permissions',
  'xray:GetSamplingRules': 'X-Ray sampling reads have no resource-level permissions',
  'xray:GetSamplingTargets': 'X-Ray sampling reads have no resource-level permissions',
  'logs:CreateLogDelivery': 'Step Functions log delivery: CloudWatch Logs vended-log actions take no resource',
  'logs:GetLogDelivery': 'Step Functions log delivery: as above',
  'logs:UpdateLogDelivery': 'Step Functions log delivery: as above',
  'logs:DeleteLogDelivery': 'Step Functions log delivery: as above',
  'logs:ListLogDeliveries': 'Step Functions log delivery: as above',
  'logs:PutResourcePolicy': 'Step Functions log delivery: the account-level log resource policy has no ARN',
  'logs:DescribeResourcePolicies': 'Step Functions log delivery: as above',
  'logs:DescribeLogGroups': 'Step Functions log delivery: listing log groups takes no resource',
  'ec2:DescribeNetworkInterfaces': 'EC2 Describe* calls have no resource-level permissions (Glue in the VPC)',
  'ec2:DescribeSubnets': 'as above',
  'ec2:DescribeSecurityGroups': 'as above',
  'ec2:DescribeVpcs': 'as above',
  'ec2:DescribeVpcEndpoints': 'as above',
  'ec2:DescribeVpcAttribute': 'as above',
  'ec2:DescribeRouteTables': 'as above',
  'cloudwatch:PutMetricData': 'PutMetricData has no resource-level permissions (held to the Glue namespace by a condition)',
};

describe('least privilege', () => {
  const allows = () => policyStatements(template).filter((s) => s.statement.Effect === 'Allow');

  it('allows no "*" or "service:*" action and no NotAction/NotResource in any policy', () => {
    const broad = allows().filter(({ statement }) =>
      statement.NotAction !== undefined || statement.NotResource !== undefined || asArray(statement.Action).some((a) => a === '*' || a.endsWith(':*')),
    );
    expect(broad.map((s) => s.where)).toEqual([]);
  });

  it('uses Resource "*" only where AWS offers nothing narrower (key policies mean "this key")', () => {
    const star = allows().filter(({ statement, resourceType }) => resourceType !== 'AWS::KMS::Key' && asArray(statement.Resource).includes('*'));
    expect(star.length).toBeGreaterThan(0);
    const unjustified = star.flatMap(({ where, statement }) => asArray(statement.Action).filter((a) => !(a in STAR_RESOURCE_ALLOWED)).map((a) => `${where}: ${a}`));
    expect(unjustified).toEqual([]);
    // PutMetricData on "*" only with its namespace condition.
    for (const { statement } of star.filter((s) => asArray(s.statement.Action).includes('cloudwatch:PutMetricData'))) {
      expect(statement.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'Glue' } });
    }
  });

  it('gives every Lambda its own role, writing only to its own log group', () => {
    const roles = new Set<string>();
    for (const [key, logical] of Object.entries(FUNCTIONS)) {
      const fn = resource(template, `${logical}LambdaFunction`, 'AWS::Lambda::Function').Properties;
      expect({ key, runtime: fn.Runtime, architectures: fn.Architectures, role: fn.Role }).toEqual({
        key,
        runtime: 'nodejs22.x',
        architectures: ['arm64'],
        role: getAtt(`${logical}Role`),
      });
      roles.add(`${logical}Role`);
      const logs = policyStatements(template).find((s) => s.where.startsWith(`${logical}Role `) && asArray(s.statement.Action).includes('logs:PutLogEvents'));
      expect({ key, logs: logs?.statement.Resource }).toEqual({ key, logs: getAtt(`${logical}LogGroup`) });
      expect(resource(template, `${logical}LogGroup`, 'AWS::Logs::LogGroup').Properties.KmsKeyId).toEqual(getAtt('DataKey'));
    }
    expect(roles.size).toBe(9);
    // No shared execution role from the framework.
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('grants each Lambda exactly the calls its handler makes (docs/state-machine.md)', () => {
    const actionsOf = (logical: string) =>
      [...new Set(policyStatements(template).filter((s) => s.where.startsWith(`${logical}Role `)).flatMap((s) => asArray(s.statement.Action)))]
        .filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:') && !a.startsWith('kms:'))
        .sort();
    // Settling a dead run's unfinished publish (core/publish-journal.ts) reads, restores and removes final keys.
    const settle = ['s3:DeleteObject', 's3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:PutObject'];
    expect(Object.fromEntries(Object.values(FUNCTIONS).map((logical) => [logical, actionsOf(logical)]))).toEqual({
      ResolveRun: ['dynamodb:GetItem', 'dynamodb:UpdateItem', ...settle],
      StartCrawler: ['glue:StartCrawler'],
      GetCrawlerState: ['glue:GetCrawler'],
      StartExtractJob: ['glue:GetJobRuns', 'glue:StartJobRun'],
      GetExtractJobState: ['glue:GetJobRun'],
      PublishExtracts: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 's3:AbortMultipartUpload', ...settle],
      CompleteRun: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      NotifyFailure: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', ...settle, 'sns:Publish', 'sqs:SendMessage'],
      CheckMissedMonth: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 's3:GetObject', 's3:ListBucket', 'sns:Publish'],
    });
  });

  it("lets the Lambdas that read a month record read the loan extract's records from before extracts were templated (month#…), GetItem only", () => {
    const keyGrants = (logical: string) =>
      policyStatements(template)
        .filter((s) => s.where.startsWith(`${logical}Role `) && asArray(s.statement.Action).some((a) => a.startsWith('dynamodb:')))
        .map((s) => [asArray(s.statement.Action).join(' '), asArray(s.statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'])]);
    const month = [['dynamodb:GetItem dynamodb:UpdateItem', ['extract#*']], ['dynamodb:GetItem', ['month#*']]];
    expect(Object.fromEntries(['ResolveRun', 'PublishExtracts', 'CompleteRun', 'NotifyFailure', 'CheckMissedMonth'].map((logical) => [logical, keyGrants(logical)]))).toEqual({
      ResolveRun: month,
      PublishExtracts: month,
      CompleteRun: month,
      NotifyFailure: [...month, ['dynamodb:PutItem dynamodb:DeleteItem', ['notice#*']]],
      CheckMissedMonth: [['dynamodb:GetItem', ['extract#*']], ['dynamodb:GetItem', ['month#*']], ['dynamodb:PutItem dynamodb:DeleteItem', ['missed#*']]],
    });
  });

  it('lets ResolveRun and NotifyFailure touch only the final keys, never staging, and ResolveRun, NotifyFailure and CheckMissedMonth read only the extract definitions of the scripts bucket', () => {
    const objectStatements = (logical: string) =>
      policyStatements(template).filter(
        (s) => s.where.startsWith(`${logical}Role `) && asArray(s.statement.Action).some((a) => a.startsWith('s3:') && a !== 's3:ListBucket'),
      );
    const finalKeys = [{ 'Fn::Sub': '${ExtractBucket.Arn}/extracts/*' }, { 'Fn::Sub': '${ExtractBucket.Arn}/analytics/*' }];
    const definitions = { actions: ['s3:GetObject'], resource: { 'Fn::Sub': '${ScriptsBucket.Arn}/extracts/*/extract.json' } };
    const shape = (logical: string) => objectStatements(logical).map((s) => ({ actions: asArray(s.statement.Action), resource: s.statement.Resource }));
    expect(shape('NotifyFailure')).toEqual([{ actions: expect.any(Array), resource: finalKeys }, definitions]);
    expect(shape('ResolveRun')).toEqual([{ actions: expect.any(Array), resource: finalKeys }, definitions]);
    expect(shape('CheckMissedMonth')).toEqual([definitions]);
    // The scripts bucket is encrypted with the stage key: reading it decrypts through S3 only.
    const decrypt = policyStatements(template).find((s) => s.where.startsWith('CheckMissedMonthRole ') && asArray(s.statement.Action).includes('kms:Decrypt') &&
      JSON.stringify(s.statement.Condition).includes('s3.${AWS::Region}'));
    expect(asArray(decrypt?.statement.Action)).toEqual(['kms:Decrypt']);
  });

  it('lets ResolveRun, NotifyFailure and CheckMissedMonth list the scripts bucket, so a missing definition is a 404 (InvalidInput), not AccessDenied', () => {
    const listsScripts = (logical: string) =>
      policyStatements(template).filter(
        (s) => s.where.startsWith(`${logical}Role `) && asArray(s.statement.Action).includes('s3:ListBucket') && JSON.stringify(s.statement.Resource).includes('ScriptsBucket'),
      );
    for (const logical of ['ResolveRun', 'NotifyFailure', 'CheckMissedMonth']) {
      // Unconditioned (resources/functions.yml says why); the only action on the bucket itself.
      expect({ logical, statements: listsScripts(logical).map((s) => s.statement) }).toEqual({
        logical,
        statements: [{ Sid: 'ListScriptsBucketToTellMissingDefinitions', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: getAtt('ScriptsBucket') }],
      });
    }
    const others = policyStatements(template).filter(
      (s) => s.where.endsWith(' ListScriptsBucketToTellMissingDefinitions') && !/^(ResolveRun|NotifyFailure|CheckMissedMonth)Role /.test(s.where),
    );
    expect(others.map((s) => s.where)).toEqual([]);
  });

  it("lets StartExtractJob and GetExtractJobState act on every extract's job and no other", () => {
    const glueResources = (logical: string) =>
      policyStatements(template).filter((s) => s.where.startsWith(`${logical}Role `) && asArray(s.statement.Action).some((a) => a.startsWith('glue:'))).map((s) => s.statement.Resource);
    const jobs = [{ 'Fn::Sub': 'arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/${LoanMovingAverageJob}' }];
    expect(glueResources('StartExtractJob')).toEqual([jobs]);
    expect(glueResources('GetExtractJobState')).toEqual([jobs]);
  });

  it('lets the Lambdas use the stage key only through the service that needs it', () => {
    for (const logical of ['ResolveRun', 'CompleteRun', 'PublishExtracts', 'NotifyFailure', 'CheckMissedMonth']) {
      const kms = policyStatements(template).filter((s) => s.where.startsWith(`${logical}Role `) && asArray(s.statement.Action).some((a) => a.startsWith('kms:')));
      expect(kms.length).toBeGreaterThan(0);
      for (const { where, statement } of kms) {
        expect({ where, viaService: statement.Condition?.StringEquals?.['kms:ViaService'] }).toEqual({ where, viaService: expect.anything() });
      }
    }
  });
});
