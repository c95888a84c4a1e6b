/**
 * The ODS secret, its connection details and its rotation, in the packaged prod template
 * (resources/secrets.yml): what keeps a deploy from regenerating the ODS password, what rotation
 * generates, and where the rotation Lambda logs.
 */
import { getAtt, type PackagedStack, packageStack, ref, resource, type Template, walk } from './cloudformation';

let stack: PackagedStack;
let template: Template;

beforeAll(async () => {
  stack = await packageStack('prod');
  template = stack.template;
});
afterAll(async () => {
  await stack?.remove();
});


/** Every `Ref`, `Fn::*` or `Condition` key at or below a value: CloudFormation computes it at deploy time. */
function intrinsicsIn(value: unknown): string[] {
  return [...walk(value)].flatMap(([path, node]) =>
    typeof node === 'object' && node !== null && !Array.isArray(node) ? Object.keys(node).filter((key) => key === 'Ref' || key === 'Condition' || key.startsWith('Fn::')).map((key) => `${path}.${key}`) : [],
  );
}

const secretProperties = () => resource(template, 'OdsSecret', 'AWS::SecretsManager::Secret').Properties as { GenerateSecretString: Record<string, unknown> };
const rotationProperties = () =>
  resource(template, 'OdsSecretRotation', 'AWS::SecretsManager::RotationSchedule').Properties as { HostedRotationLambda: Record<string, unknown> } & Record<string, unknown>;

describe('the ODS secret: a deploy never regenerates the password', () => {
  it('generates the password from a constant SecretStringTemplate: a literal string, no parameter, no intrinsic function', () => {
    const generate = secretProperties().GenerateSecretString;
    expect(intrinsicsIn(generate)).toEqual([]);
    const secretTemplate = generate.SecretStringTemplate;
    expect(typeof secretTemplate).toBe('string');
    // No ${…} left for Fn::Sub or serverless, and no CloudFormation parameter named in it.
    expect(secretTemplate).not.toMatch(/\$\{/);
    for (const name of Object.keys(template.Parameters ?? {})) expect(secretTemplate).not.toContain(name);
    // Only what is fixed for the life of a stage; host and port come from the attachment.
    expect(JSON.parse(secretTemplate as string)).toEqual({ engine: 'postgres', username: 'loan_extract_reader', dbname: 'ods' });
  });

  it('takes host and port from the ODS Aurora cluster through a SecretTargetAttachment, named by the writer endpoint parameter', () => {
    const attachment = resource(template, 'OdsSecretTarget', 'AWS::SecretsManager::SecretTargetAttachment').Properties;
    expect(attachment).toEqual({
      SecretId: ref('OdsSecret'),
      TargetType: 'AWS::RDS::DBCluster',
      // <cluster identifier>.cluster-<id>.<region>.rds.amazonaws.com
      TargetId: { 'Fn::Select': [0, { 'Fn::Split': ['.', ref('OdsWriterEndpoint')] }] },
    });
    expect(template.Parameters?.OdsWriterEndpoint?.Type).toBe('AWS::SSM::Parameter::Value<String>');
  });
});

describe('rotation of the ODS password', () => {
  it('generates rotated passwords without the characters the initial password excludes', () => {
    const initial = secretProperties().GenerateSecretString.ExcludeCharacters;
    expect(typeof initial).toBe('string');
    expect(initial).toEqual(expect.stringContaining('@'));
    expect(rotationProperties().HostedRotationLambda.ExcludeCharacters).toBe(initial);
    // Neither side excludes by class (punctuation, digits…) unless the other does the same.
    const classes = ['ExcludePunctuation', 'ExcludeNumbers', 'ExcludeLowercase', 'ExcludeUppercase', 'IncludeSpace', 'RequireEachIncludedType'];
    expect(classes.filter((key) => key in secretProperties().GenerateSecretString)).toEqual([]);
  });

  it('tests the configuration when attached but does not rotate at deploy, and waits for the connection details and its log group', () => {
    const rotation = resource(template, 'OdsSecretRotation', 'AWS::SecretsManager::RotationSchedule');
    expect(rotation.Properties.RotateImmediatelyOnUpdate).toBe(false);
    expect(rotation.Condition).toBe('OdsRotationEnabled');
    expect(template.Conditions?.OdsRotationEnabled).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect([rotation.DependsOn].flat()).toEqual(expect.arrayContaining(['OdsSecretTarget', 'OdsRotationLogGroup']));
  });

  it("creates the rotation Lambda's log group with the stage key and the stage's log retention", () => {
    const name = rotationProperties().HostedRotationLambda.RotationLambdaName;
    expect(name).toBe('monthly-loan-extract-prod-ods-rotation');
    const logGroup = resource(template, 'OdsRotationLogGroup', 'AWS::Logs::LogGroup');
    expect(logGroup.Properties).toEqual({
      LogGroupName: `/aws/lambda/${String(name)}`,
      // prod's logRetentionDays (serverless.yml, docs/deploy.md): two years.
      RetentionInDays: 731,
      KmsKeyId: getAtt('DataKey'),
    });
    // Same retention as the framework gives the Lambdas' own log groups.
    expect(resource(template, 'ResolveRunLogGroup', 'AWS::Logs::LogGroup').Properties.RetentionInDays).toBe(731);
  });
});
