/**
 * On the packaged template: every log group the stack's services write
 * (Lambdas, state machine, Glue job and crawler, SFTP) is the stack's own, encrypted with the stage
 * key and kept for the stage's retention; the Glue roles use the key only through the services they
 * need; CloudWatch Logs may use the key only for this account's and this stack's log groups; the
 * SFTP endpoint is VPC-hosted behind an allow-list unless a stage asks for PUBLIC.
 */
import { asArray, getAtt, type PackagedStack, packageStack, policyStatements, ref, resource, resourcesOfType, type Template } from './cloudformation';

let prod: PackagedStack;
let dev: PackagedStack;
let template: Template;

beforeAll(async () => {
  [prod, dev] = await Promise.all([packageStack('prod'), packageStack('dev')]);
  template = prod.template;
}, 240_000);
afterAll(async () => {
  await Promise.all([prod?.remove(), dev?.remove()]);
});

const logGroupArn = (name: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${name}` });
const statementsOf = (logicalId: string) => policyStatements(template).filter((s) => s.where.startsWith(`${logicalId} `));

/** prod's logRetentionDays (serverless.yml). */
const PROD_RETENTION_DAYS = 731;

function expectEncryptedAndRetained(logicalId: string, name: string, retention = PROD_RETENTION_DAYS, t = template) {
  expect(resource(t, logicalId, 'AWS::Logs::LogGroup').Properties).toEqual({
    LogGroupName: name,
    RetentionInDays: retention,
    KmsKeyId: getAtt('DataKey'),
  });
}

describe('log groups: the stack creates each one, with the stage key and retention', () => {
  it("encrypts and retains the loan extract's Glue job's log groups with the stage key, under the prefix the job is given", () => {
    const args = resource(template, 'LoanMovingAverageJob', 'AWS::Glue::Job').Properties.DefaultArguments as Record<string, unknown>;
    const prefix = '/aws-glue/jobs/monthly-loan-extract-prod-loan-moving-average';
    expect(args['--custom-logGroup-prefix']).toBe(prefix);
    // Glue 4.0-and-earlier continuous logging would write elsewhere (/aws-glue/jobs/logs-v2…).
    expect(args['--enable-continuous-cloudwatch-log']).toBeUndefined();
    expect(args['--continuous-log-logGroup']).toBeUndefined();
    expectEncryptedAndRetained('LoanMovingAverageJobErrorLogGroup', `${prefix}/error`);
    expectEncryptedAndRetained('LoanMovingAverageJobOutputLogGroup', `${prefix}/output`);
  });

  it("keeps the former single job's log groups, retained beyond the stack, until their logs expire", () => {
    for (const stream of ['Error', 'Output']) {
      expectEncryptedAndRetained(`ExtractJob${stream}LogGroup`, `/aws-glue/jobs/monthly-loan-extract-prod-extract/${stream.toLowerCase()}`);
      expect(template.Resources[`ExtractJob${stream}LogGroup`]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it("encrypts and retains the Glue crawler's log group, named after its fixed role and security configuration", () => {
    const roleName = resource(template, 'OdsCrawlerRole', 'AWS::IAM::Role').Properties.RoleName;
    const securityConfiguration = resource(template, 'GlueSecurityConfiguration', 'AWS::Glue::SecurityConfiguration').Properties.Name;
    expect({ roleName, securityConfiguration }).toEqual({ roleName: 'monthly-loan-extract-prod-ods-crawler', securityConfiguration: 'monthly-loan-extract-prod' });
    expect(resource(template, 'OdsCrawler', 'AWS::Glue::Crawler').Properties.CrawlerSecurityConfiguration).toEqual(ref('GlueSecurityConfiguration'));
    expectEncryptedAndRetained('OdsCrawlerLogGroup', `/aws-glue/crawlers-role/${roleName as string}-${securityConfiguration as string}`);
  });

  it("sends the SFTP server's structured logs to its own encrypted, retained log group, with no legacy logging role", () => {
    const server = resource(template, 'SftpServer', 'AWS::Transfer::Server').Properties;
    expect(server.StructuredLogDestinations).toEqual([getAtt('SftpLogGroup')]);
    expect(server.LoggingRole).toBeUndefined();
    expect(template.Resources.SftpLoggingRole).toBeUndefined();
    expectEncryptedAndRetained('SftpLogGroup', '/aws/vendedlogs/transfer/monthly-loan-extract-prod');
    expect(template.Resources.SftpLogGroup!.Condition).toBe('SftpEnabled');
  });

  it('gives every log group in the template the stage key and a retention', () => {
    const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(8 + 1 + 3 + 1);
    for (const [id, group] of groups) {
      expect({ id, key: group.Properties?.KmsKeyId, retention: typeof group.Properties?.RetentionInDays }).toEqual({ id, key: getAtt('DataKey'), retention: 'number' });
    }
  });

  it("uses the dev stage's own retention for the Glue and crawler log groups", () => {
    expectEncryptedAndRetained('LoanMovingAverageJobErrorLogGroup', '/aws-glue/jobs/monthly-loan-extract-dev-loan-moving-average/error', 14, dev.template);
    expectEncryptedAndRetained('OdsCrawlerLogGroup', '/aws-glue/crawlers-role/monthly-loan-extract-dev-ods-crawler-monthly-loan-extract-dev', 14, dev.template);
  });
});

describe('least privilege: logs', () => {
  it("lets the Glue job role write only to the jobs' own two log groups each", () => {
    const logs = statementsOf('ExtractJobRole').filter((s) => asArray(s.statement.Action).some((a) => a.startsWith('logs:')));
    expect(logs.map((s) => s.statement.Resource)).toEqual([[getAtt('LoanMovingAverageJobErrorLogGroup'), getAtt('LoanMovingAverageJobOutputLogGroup')]]);
    expect(asArray(logs[0]!.statement.Action)).toContain('logs:AssociateKmsKey');
  });

  it('lets the Glue crawler write only to its own log group', () => {
    const logs = statementsOf('OdsCrawlerRole').filter((s) => asArray(s.statement.Action).some((a) => a.startsWith('logs:')));
    expect(logs.map((s) => s.statement.Resource)).toEqual([[getAtt('OdsCrawlerLogGroup')]]);
    expect(asArray(logs[0]!.statement.Action)).toContain('logs:AssociateKmsKey');
  });

  it("lets CloudWatch Logs use the key only for this account's and this stack's log groups (aws:SourceAccount, aws:SourceArn, encryption context)", () => {
    const statements = (resource(template, 'DataKey', 'AWS::KMS::Key').Properties.KeyPolicy as { Statement: Array<Record<string, unknown>> }).Statement;
    const logs = statements.filter((s) => JSON.stringify(s.Principal).includes('logs.${AWS::Region}.amazonaws.com'));
    const stackGroups = [
      logGroupArn('/aws/lambda/monthly-loan-extract-prod-*'),
      logGroupArn('/aws/vendedlogs/states/monthly-loan-extract-prod'),
      // The former single job's, kept until they expire.
      logGroupArn('/aws-glue/jobs/monthly-loan-extract-prod-extract/error'),
      logGroupArn('/aws-glue/jobs/monthly-loan-extract-prod-extract/output'),
      logGroupArn('/aws-glue/crawlers-role/monthly-loan-extract-prod-ods-crawler-monthly-loan-extract-prod'),
      logGroupArn('/aws/vendedlogs/transfer/monthly-loan-extract-prod'),
    ];
    // Each extract's job's groups by exact name: no prefix another stage's name (prod-eu…) could match.
    const jobGroups = [
      logGroupArn('/aws-glue/jobs/monthly-loan-extract-prod-loan-moving-average/error'),
      logGroupArn('/aws-glue/jobs/monthly-loan-extract-prod-loan-moving-average/output'),
    ];
    expect(logs.map((s) => s.Condition)).toEqual(
      [stackGroups, jobGroups].map((groups) => ({
        StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': groups, 'aws:SourceArn': groups },
      })),
    );
    expect(new Set(logs.map((s) => JSON.stringify([s.Effect, s.Action, s.Resource]))).size).toBe(1);
    // Every log group the template creates is covered (the Lambdas' by the prefix).
    const groups = [...stackGroups, ...jobGroups];
    const names = resourcesOfType(template, 'AWS::Logs::LogGroup').map(([, g]) => g.Properties!.LogGroupName as string);
    const patterns = groups.map((g) => new RegExp(`^${g['Fn::Sub'].split(':log-group:')[1]!.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`));
    const uncovered = names.filter((name) => typeof name === 'string' && !patterns.some((p) => p.test(name)));
    expect(uncovered).toEqual([]);
  });
});

describe('least privilege: the Glue roles and the stage key', () => {
  const kmsStatements = (role: string) => statementsOf(role).filter((s) => asArray(s.statement.Action).some((a) => a.startsWith('kms:')));
  const viaService = (service: string) => ({ StringEquals: { 'kms:ViaService': { 'Fn::Sub': `${service}.\${AWS::Region}.amazonaws.com` } } });

  it('lets the crawler only decrypt with the key, and only through Secrets Manager (the ODS login)', () => {
    expect(kmsStatements('OdsCrawlerRole').map((s) => ({ actions: asArray(s.statement.Action), resource: s.statement.Resource, condition: s.statement.Condition }))).toEqual([
      { actions: ['kms:Decrypt'], resource: getAtt('DataKey'), condition: viaService('secretsmanager') },
    ]);
  });

  it('lets the Glue job use the key only through S3 (scripts, staging) and Secrets Manager (the ODS login)', () => {
    expect(kmsStatements('ExtractJobRole').map((s) => ({ actions: asArray(s.statement.Action), condition: s.statement.Condition }))).toEqual([
      { actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], condition: viaService('s3') },
      { actions: ['kms:Decrypt'], condition: viaService('secretsmanager') },
    ]);
    // Client-side (CSE-KMS) bookmark encryption would call KMS directly; bookmarks are off.
    for (const [id, job] of resourcesOfType(template, 'AWS::Glue::Job')) {
      expect({ id, bookmarks: (job.Properties!.DefaultArguments as Record<string, unknown>)['--job-bookmark-option'] }).toEqual({ id, bookmarks: 'job-bookmark-disable' });
    }
  });
});

describe('the SFTP endpoint', () => {
  it('is VPC-hosted by default, in the VPC and subnets read from SSM, behind its own security group', () => {
    expect(resource(template, 'SftpServer', 'AWS::Transfer::Server').Properties).toMatchObject({
      EndpointType: { 'Fn::If': ['SftpVpcHosted', 'VPC', 'PUBLIC'] },
      EndpointDetails: {
        'Fn::If': [
          'SftpVpcHosted',
          {
            VpcId: ref('SftpVpcId'),
            SubnetIds: ref('SftpSubnetIds'),
            SecurityGroupIds: [ref('SftpSecurityGroup')],
            AddressAllocationIds: { 'Fn::If': ['SftpInternetFacing', ref('SftpAddressAllocationIds'), ref('AWS::NoValue')] },
          },
          ref('AWS::NoValue'),
        ],
      },
    });
    expect(template.Conditions?.SftpVpcHosted).toEqual({ 'Fn::And': [{ Condition: 'SftpEnabled' }, { 'Fn::Equals': ['VPC', 'VPC'] }] });
    const parameters = template.Parameters ?? {};
    expect(Object.fromEntries(['SftpVpcId', 'SftpSubnetIds', 'SftpAddressAllocationIds'].map((name) => [name, parameters[name]]))).toEqual({
      SftpVpcId: expect.objectContaining({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>', Default: '/monthly-loan-extract/prod/network/sftp-vpc-id' }),
      SftpSubnetIds: expect.objectContaining({ Type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>', Default: '/monthly-loan-extract/prod/network/sftp-subnet-ids' }),
      SftpAddressAllocationIds: expect.objectContaining({ Type: 'AWS::SSM::Parameter::Value<List<String>>', Default: '/monthly-loan-extract/prod/network/sftp-eip-allocation-ids' }),
    });
  });

  it("lets TCP 22 in only from the stage's allow-list of client CIDRs, and nothing out", () => {
    const group = resource(template, 'SftpSecurityGroup', 'AWS::EC2::SecurityGroup');
    expect(group.Condition).toBe('SftpVpcHosted');
    expect(group.Properties.VpcId).toEqual(ref('SftpVpcId'));
    expect(group.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, SourcePrefixListId: ref('SftpAllowedClients') }),
    ]);
    for (const rule of group.Properties.SecurityGroupIngress as Array<Record<string, unknown>>) {
      expect(rule.CidrIp).toBeUndefined();
    }
    expect(group.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
    const list = resource(template, 'SftpAllowedClients', 'AWS::EC2::PrefixList').Properties;
    const entries = list.Entries as Array<{ Cidr: string }>;
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.length).toBeLessThanOrEqual(list.MaxEntries as number);
    for (const { Cidr } of entries) expect(Cidr).not.toBe('0.0.0.0/0');
  });

  it('needs no SSM parameter for the SFTP network where the stage has no VPC-hosted server (dev)', () => {
    const parameters = dev.template.Parameters ?? {};
    expect(['SftpVpcId', 'SftpSubnetIds', 'SftpAddressAllocationIds'].map((name) => parameters[name]?.Type)).toEqual(['String', 'CommaDelimitedList', 'CommaDelimitedList']);
    expect(dev.template.Conditions?.SftpEnabled).toEqual({ 'Fn::Equals': ['false', 'true'] });
  });
});
