/**
 * Every extract folder is deployed (scripts/extract-stack.ts through serverless.yml): packaged with
 * EXTRACTS_PATH=test/fixtures/extracts, the second extract brings its own schedule, Glue job and
 * recipient's subscription, and the IAM lists take in its job, with no change outside its folder;
 * a definition with mistakes fails `osls package`, naming each field.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkedExtracts, extractStack, logicalIdOf } from '../../scripts/extract-stack';
import { loadExtracts, type ExtractFolder } from '../../extracts/folders';
import { ExtractDefinitionError } from '../../functions/core/extract-definition';
import { asArray, getAtt, type PackagedStack, packageStack, policyStatements, ref, REPOSITORY_ROOT, resource, type Resource, type Template } from './cloudformation';

const FIXTURES = 'test/fixtures/extracts';

let base: PackagedStack;
let withFixture: PackagedStack;
let template: Template;

beforeAll(async () => {
  [base, withFixture] = await Promise.all([packageStack('prod'), packageStack('prod', { extractsPath: FIXTURES, name: 'prod-fixture-extracts' })]);
  template = withFixture.template;
}, 240_000);
afterAll(async () => {
  await Promise.all([base?.remove(), withFixture?.remove()]);
});

const jobArn = (logicalId: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:job/\${${logicalId}}` });

describe('the second extract, packaged from its folder (EXTRACTS_PATH)', () => {
  it('is started by its own schedule, at 06:30 on the 3rd in Europe/London, with {"extract": "client-activity"}, retried and dead-lettered like the loan extract\'s', () => {
    const schedule = resource(template, 'ClientActivitySchedule', 'AWS::Scheduler::Schedule').Properties;
    expect(schedule).toEqual({
      Name: 'client-activity',
      GroupName: ref('ScheduleGroup'),
      Description: expect.stringContaining('per branch'),
      ScheduleExpression: 'cron(30 6 3 * ? *)',
      ScheduleExpressionTimezone: 'Europe/London',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: ref('MonthlyExtractStateMachine'),
        RoleArn: getAtt('SchedulerRole'),
        Input: '{"extract":"client-activity"}',
        RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: getAtt('ScheduleDeadLetterQueue') },
      },
    });
    // The loan extract's schedule is the same with or without the fixture.
    expect(template.Resources.LoanMovingAverageSchedule).toEqual(base.template.Resources.LoanMovingAverageSchedule);
  });

  it('runs glue/etl.py as a Glue job of its own, named after it, with --extract_id and its folder\'s files as --extra-files', () => {
    const job = resource(template, 'ClientActivityJob', 'AWS::Glue::Job').Properties;
    expect(job).toMatchObject({
      Name: 'monthly-loan-extract-prod-client-activity',
      Role: getAtt('ExtractJobRole'),
      GlueVersion: '5.1',
      Command: { Name: 'glueetl', PythonVersion: '3', ScriptLocation: { 'Fn::Sub': 's3://${ScriptsBucket}/glue/etl.py' } },
      WorkerType: 'G.1X',
      NumberOfWorkers: 10,
      MaxRetries: 0,
      Connections: { Connections: [ref('OdsConnection')] },
      SecurityConfiguration: ref('GlueSecurityConfiguration'),
    });
    expect(job.DefaultArguments).toEqual({
      '--connection_name': ref('OdsConnection'),
      '--extract_id': 'client-activity',
      '--extra-files': {
        'Fn::Sub': [
          's3://${ScriptsBucket}/extracts/client-activity/extract.json',
          's3://${ScriptsBucket}/extracts/client-activity/sql/rows.sql',
          's3://${ScriptsBucket}/extracts/client-activity/sql/branches.sql',
          's3://${ScriptsBucket}/glue/extract-layout.json',
          's3://${ScriptsBucket}/glue/rds-ca-bundle.pem',
        ].join(','),
      },
      '--job-bookmark-option': 'job-bookmark-disable',
      '--enable-metrics': 'true',
      '--custom-logGroup-prefix': '/aws-glue/jobs/monthly-loan-extract-prod-client-activity',
      '--enable-spark-ui': 'false',
    });
    for (const stream of ['Error', 'Output']) {
      expect(resource(template, `ClientActivityJob${stream}LogGroup`, 'AWS::Logs::LogGroup').Properties).toEqual({
        LogGroupName: `/aws-glue/jobs/monthly-loan-extract-prod-client-activity/${stream.toLowerCase()}`,
        RetentionInDays: 731,
        KmsKeyId: getAtt('DataKey'),
      });
    }
    expect(template.Outputs?.ClientActivityJobName).toEqual(expect.objectContaining({ Value: ref('ClientActivityJob') }));
  });

  it("emails its recipient its failures only (a filter on the extract message attribute); support still gets everything", () => {
    expect(resource(template, 'BranchReportingMybigbankCoZaAlertSubscription', 'AWS::SNS::Subscription').Properties).toEqual({
      TopicArn: ref('AlertTopic'),
      Protocol: 'email',
      Endpoint: 'branch-reporting@mybigbank.co.za',
      FilterPolicyScope: 'MessageAttributes',
      FilterPolicy: { extract: ['client-activity'] },
    });
    expect(template.Resources.AlertEmailSubscription).toEqual(base.template.Resources.AlertEmailSubscription);
  });

  it('lets the job Lambdas act on both jobs, the Glue role write both jobs\' logs, and the missed-month check see both extracts', () => {
    const resourcesOf = (role: string, prefix: string) =>
      policyStatements(template).filter((s) => s.where.startsWith(`${role} `) && asArray(s.statement.Action).some((a) => a.startsWith(prefix))).map((s) => s.statement.Resource);
    const jobs = [jobArn('LoanMovingAverageJob'), jobArn('ClientActivityJob')];
    expect(resourcesOf('StartExtractJobRole', 'glue:')).toEqual([jobs]);
    expect(resourcesOf('GetExtractJobStateRole', 'glue:')).toEqual([jobs]);
    expect(resourcesOf('ExtractJobRole', 'logs:')).toEqual([
      ['LoanMovingAverageJobErrorLogGroup', 'LoanMovingAverageJobOutputLogGroup', 'ClientActivityJobErrorLogGroup', 'ClientActivityJobOutputLogGroup'].map((id) => getAtt(id)),
    ]);
    const env = (resource(template, 'CheckMissedMonthLambdaFunction', 'AWS::Lambda::Function').Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.EXTRACT_IDS).toBe('loan-moving-average,client-activity');
  });

  it('changes nothing else in the stack: every other resource is as without it', () => {
    // The Lambdas' code keys name the package's time; the lists above name the jobs.
    // DataKey: CloudWatch Logs may encrypt the new job's log groups with it.
    const listing = new Set(['StartExtractJobRole', 'GetExtractJobStateRole', 'ExtractJobRole', 'CheckMissedMonthLambdaFunction', 'DataKey']);
    const comparable = (r: Resource | undefined) => (r?.Type === 'AWS::Lambda::Function' ? { ...r, Properties: { ...r.Properties, Code: undefined } } : r);
    const changed = Object.keys(base.template.Resources).filter(
      (id) => !listing.has(id) && JSON.stringify(comparable(base.template.Resources[id])) !== JSON.stringify(comparable(template.Resources[id])),
    );
    expect(changed).toEqual([]);
    const added = Object.keys(template.Resources).filter((id) => !(id in base.template.Resources)).sort();
    expect(added).toEqual([
      'BranchReportingMybigbankCoZaAlertSubscription',
      'ClientActivityJob',
      'ClientActivityJobErrorLogGroup',
      'ClientActivityJobOutputLogGroup',
      'ClientActivitySchedule',
    ]);
  });
});

describe('the second extract and the external SFTP user', () => {
  it('gives the SFTP user no access to its keys: it does not say "delivery": {"sftp": true}', () => {
    const sftp = policyStatements(template).filter((s) => s.where.startsWith('SftpUserRole '));
    expect(sftp.length).toBeGreaterThan(0);
    const mentioned = JSON.stringify(sftp.map((s) => [s.statement.Resource, s.statement.Condition]));
    expect(mentioned).not.toContain('client-activity');
    // Nothing that could match extracts/client-activity/… either: every read and list names the loan extract's prefixes.
    const clientKey = 'extracts/client-activity/branch_id=1/2024-03/branch1_clients_20240331.csv';
    const matches = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`).test(value);
    for (const { statement } of sftp.filter((s) => s.statement.Effect === 'Allow')) {
      const objects = asArray(statement.Resource as unknown[])
        .map((r) => (r as { 'Fn::Sub'?: string })['Fn::Sub'])
        .filter((r): r is string => r !== undefined)
        .map((r) => r.replace('${ExtractBucket.Arn}/', ''));
      const prefixes = asArray(statement.Condition?.StringLike?.['s3:prefix'] as string[] | undefined);
      for (const pattern of [...objects, ...prefixes]) {
        for (const value of [clientKey, 'extracts/client-activity/', 'extracts/client-activity/_manifests/2024-03.json']) {
          expect({ pattern, value, matches: matches(pattern, value) }).toEqual({ pattern, value, matches: false });
        }
      }
    }
    // The loan extract's consumer keeps exactly the access it had without the fixture.
    expect(template.Resources.SftpUserRole).toEqual(base.template.Resources.SftpUserRole);
  });

  it("lets CloudWatch Logs encrypt its job's log groups, by name", () => {
    const statements = (resource(template, 'DataKey', 'AWS::KMS::Key').Properties.KeyPolicy as { Statement: Array<{ Sid: string; Condition: { ArnLike: Record<string, unknown> } }> }).Statement;
    const jobs = statements.find((s) => s.Sid === 'CloudWatchLogsEncryptsTheExtractJobsLogGroups')!;
    const groups = ['loan-moving-average/error', 'loan-moving-average/output', 'client-activity/error', 'client-activity/output'].map((name) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws-glue/jobs/monthly-loan-extract-prod-${name}`,
    }));
    expect(jobs.Condition.ArnLike).toEqual({ 'kms:EncryptionContext:aws:logs:arn': groups, 'aws:SourceArn': groups });
  });
});

describe('a definition with mistakes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loan-extract-bad-extracts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails packaging with a message naming the extract and each field', async () => {
    // A copy of the fixture with two kinds of mistake: a schedule Scheduler would refuse, and a key
    // pattern outside extracts/.
    const fixture = join(REPOSITORY_ROOT, FIXTURES, 'client-activity');
    const definition = JSON.parse(await readFile(join(fixture, 'extract.json'), 'utf8')) as { schedule: object; output: { keys: object } };
    await cp(fixture, join(dir, 'bad-extract'), { recursive: true });
    await writeFile(
      join(dir, 'bad-extract', 'extract.json'),
      JSON.stringify({
        ...definition,
        id: 'bad-extract',
        schedule: { ...definition.schedule, cron: 'cron(30 6 3 * * *)' },
        output: { ...definition.output, keys: { ...definition.output.keys, file: 'clients/{id}/{yyyy}-{mm}.csv' } },
      }),
    );

    const packaging = packageStack('prod', { extractsPath: dir, name: 'prod-bad-extracts' });
    await expect(packaging).rejects.toThrow(/extract bad-extract: .*schedule\.cron: day-of-week must be \?, not \*/);
    await expect(packaging).rejects.toThrow(/extract bad-extract: .*output\.keys\.file: /);
  });
});

describe("packaging checks each extract's SQL on its source model", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loan-extract-bad-sql-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails when the rows SQL renames a declared column, naming sql.rows and the column', async () => {
    // The fixture with client_id renamed in its rows query: a valid definition, SQL that binds, the wrong columns.
    const fixture = join(REPOSITORY_ROOT, FIXTURES, 'client-activity');
    await cp(fixture, join(dir, 'client-activity'), { recursive: true });
    const rows = join(dir, 'client-activity', 'sql', 'rows.sql');
    const sql = await readFile(rows, 'utf8');
    expect(sql).toMatch(/\bAS client_id\b/);
    await writeFile(rows, sql.replace(/\bclient_id\b/g, 'customer_id'));

    // What osls calls while resolving ${file(./scripts/serverless-extract-stack.js):…} (see the test
    // above for the same refusal failing `osls package` itself).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const shim = require('../../scripts/serverless-extract-stack.js') as { generate(stageRecipients?: string[]): Promise<unknown> };
    const before = process.env.EXTRACTS_PATH;
    process.env.EXTRACTS_PATH = dir;
    try {
      await expect(shim.generate()).rejects.toThrow(
        /extract definitions refused: extract client-activity: sql\.rows \(sql\/rows\.sql\): returns \(branch_id, customer_id, .*\); .* say \(branch_id, client_id, .*\): missing client_id; not declared customer_id/,
      );
    } finally {
      if (before === undefined) delete process.env.EXTRACTS_PATH;
      else process.env.EXTRACTS_PATH = before;
    }
    // The fixture as it is passes the same check.
    await expect(checkedExtracts({ EXTRACTS_PATH: FIXTURES })).resolves.toHaveLength(2);
  }, 60_000);
});

describe('the generator', () => {
  it("lets the SFTP user read only the extracts that say \"delivery\": {\"sftp\": true}, and nothing when none does", () => {
    const [loan, clients] = loadExtracts({ EXTRACTS_PATH: FIXTURES });
    const statementsOf = (folders: ExtractFolder[]) => extractStack(folders).sftpReadStatements as Array<Record<string, unknown>>;
    const optedIn = { ...clients!, definition: { ...clients!.definition, delivery: { sftp: true } } };
    const [list, read] = statementsOf([loan!, optedIn]);
    expect(list!.Condition).toEqual({
      StringLike: {
        's3:prefix': [
          'extracts/',
          'extracts/_manifests',
          'extracts/_manifests/',
          'extracts/client-activity',
          'extracts/client-activity/',
          'extracts/client-activity/_manifests',
          'extracts/bank_name=*',
          'extracts/_manifests/year=*',
          'extracts/client-activity/branch_id=*',
          'extracts/client-activity/_manifests/*',
        ],
      },
    });
    expect(read!.Resource).toEqual(
      ['extracts/bank_name=*', 'extracts/_manifests/year=*', 'extracts/client-activity/branch_id=*', 'extracts/client-activity/_manifests/*'].map((key) => ({
        'Fn::Sub': `\${ExtractBucket.Arn}/${key}`,
      })),
    );
    const notOptedIn = { ...loan!, definition: { ...loan!.definition, delivery: { sftp: false } } };
    expect(statementsOf([notOptedIn, clients!])).toEqual([
      { Sid: 'NoExtractIsDeliveredBySftp', Effect: 'Deny', Action: ['s3:ListBucket', 's3:GetObject'], Resource: [getAtt('ExtractBucket'), { 'Fn::Sub': '${ExtractBucket.Arn}/*' }] },
    ]);
  });

  it('names the jobs and their log groups with the one prefix GLUE_JOB_NAME_PREFIX takes', () => {
    const stack = extractStack(loadExtracts({}));
    expect(stack.jobNamePrefix).toBe('${self:service}-${sls:stage}-');
    expect((stack.resources.Resources.LoanMovingAverageJob!.Properties as { Name: string }).Name).toBe(`${stack.jobNamePrefix}loan-moving-average`);
  });

  it('refuses two extracts whose ids name the same resources', () => {
    const [loan] = loadExtracts({});
    const twin = { ...loan!, definition: { ...loan!.definition, id: 'loan-moving-average2' } };
    const clash = { ...loan!, definition: { ...loan!.definition, id: 'loanmoving-average2' } };
    expect(logicalIdOf('loan-moving-average2')).toBe('LoanMovingAverage2');
    expect(() => extractStack([twin, clash])).not.toThrow();
    const sameWords = { ...loan!, definition: { ...loan!.definition, id: 'loan-moving-average-2' } };
    expect(() => extractStack([twin, sameWords])).toThrow(ExtractDefinitionError);
    expect(() => extractStack([twin, sameWords])).toThrow(/extract loan-moving-average-2: id: names its resources LoanMovingAverage2\* as extract loan-moving-average2 does/);
  });

  it("refuses the id of the former single job, whose log groups the stack keeps", () => {
    const [loan] = loadExtracts({});
    expect(() => extractStack([{ ...loan!, definition: { ...loan!.definition, id: 'extract' } }])).toThrow(/extract extract: id: extract is reserved/);
  });

  it('subscribes an address once, for every extract it is a recipient of, and not at all when the stage sends it everything', () => {
    const [loan] = loadExtracts({});
    const other = { ...loan!, definition: { ...loan!.definition, id: 'other', recipients: ['Ops@Example.com', 'data-support@mybigbank.co.za'] } };
    const both = { ...loan!, definition: { ...loan!.definition, recipients: ['ops@example.com'] } };
    const { resources } = extractStack([both, other], { stageRecipients: ['DATA-SUPPORT@mybigbank.co.za'] });
    const subscriptions = Object.entries(resources.Resources).filter(([, r]) => r.Type === 'AWS::SNS::Subscription');
    expect(subscriptions.map(([id, r]) => [id, r.Properties.Endpoint, r.Properties.FilterPolicy])).toEqual([
      ['OpsExampleComAlertSubscription', 'ops@example.com', { extract: ['loan-moving-average', 'other'] }],
    ]);
  });
});
