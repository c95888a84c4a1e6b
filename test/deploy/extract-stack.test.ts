/**
 * Every extract folder is deployed (scripts/extract-stack.ts through serverless.yml): packaged with
 * EXTRACTS_PATH=test/fixtures/extracts, the second extract brings its own schedule, Glue job and
 * recipient's subscription, and the IAM lists take in its job, with no change outside its folder;
 * a definition with mistakes fails `osls package`, naming each field.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractStack, logicalIdOf } from '../../scripts/extract-stack';
import { loadExtracts } from '../../extracts/folders';
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
    const listing = new Set(['StartExtractJobRole', 'GetExtractJobStateRole', 'ExtractJobRole', 'CheckMissedMonthLambdaFunction']);
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

describe('the generator', () => {
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
