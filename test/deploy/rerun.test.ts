/**
 * `npm run rerun`: bad input is refused before any AWS call, and a good one starts exactly the
 * execution the console's "Start execution" box would, on the stage's state machine.
 */
import { ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseRerunArgs, rerunInput, stageSettings, startRerun, type RerunSettings } from '../../scripts/rerun';

const LOAN = 'loan-moving-average';

const sfn = mockClient(SFNClient);
const PROD: RerunSettings = { region: 'af-south-1', timeZone: 'Africa/Johannesburg' };
const NOW = new Date('2024-04-10T08:00:00Z');
const MACHINE = 'arn:aws:states:af-south-1:111122223333:stateMachine:monthly-loan-extract-prod';

beforeEach(() => sfn.reset());

describe('npm run rerun: arguments', () => {
  it('reads --stage, --month and --force', () => {
    expect(parseRerunArgs(['--stage', 'prod', '--month', '2024-03', '--force'])).toEqual({ stage: 'prod', extract: 'loan-moving-average', month: '2024-03', force: true, region: undefined });
    expect(parseRerunArgs(['--stage=dev', '--extract', 'client-activity', '--month=2024-03', '--region', 'eu-west-1'])).toEqual({
      stage: 'dev',
      extract: 'client-activity',
      month: '2024-03',
      force: false,
      region: 'eu-west-1',
    });
    expect(() => parseRerunArgs(['--stage', 'prod', '--extract', 'Client Activity', '--month', '2024-03'])).toThrow(
      expect.objectContaining({ name: 'InvalidInput', message: expect.stringMatching(/^extract: must be an extract's id/) }),
    );
  });

  it.each([
    [['--month', '2024-03'], 'InvalidInput', 'stage: is required'],
    [['--stage', 'prod'], 'InvalidInput', 'month: is required'],
    [['--stage', 'prod', '--month', '2024-03', '--forse'], 'InvalidInput', "arguments: Unknown option '--forse'"],
    [['--stage', 'prod', '2024-03'], 'InvalidInput', 'arguments: Unexpected argument'],
    [['--stage', 'prod; rm', '--month', '2024-03'], 'InvalidInput', 'stage: must be letters, digits and dashes'],
  ])('refuses %j', (argv, name, message) => {
    expect(() => parseRerunArgs(argv)).toThrow(expect.objectContaining({ name, message: expect.stringContaining(message) }));
  });

  it("takes the stage's region from serverless.yml params, and not its time zone (months are the extract's)", () => {
    expect(stageSettings('prod')).toEqual({ region: 'af-south-1' });
    expect(stageSettings('x', 'params:\n  default:\n    region: af-south-1\n    timeZone: UTC\n  x:\n    region: eu-west-1\n')).toEqual({ region: 'eu-west-1' });
  });
});

describe('npm run rerun: the month', () => {
  it.each([
    ['2024-13', 'month: "2024-13" has month 13; months run from 01 to 12'],
    ['March', 'month: must look like "YYYY-MM" (for example "2024-03"), got "March"'],
    ['2024-04', 'month: 2024-04 is not complete yet in Africa/Johannesburg; the latest complete month is 2024-03'],
  ])('refuses %s with the state machine\'s own InvalidInput message, before calling AWS', async (month, message) => {
    await expect(startRerun(new SFNClient({ region: 'af-south-1' }), { stage: 'prod', extract: LOAN, month, force: false }, PROD, NOW)).rejects.toMatchObject({
      name: 'InvalidInput',
      message,
    });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('sends "force": true only when asked', () => {
    expect(rerunInput({ stage: 'prod', extract: LOAN, month: '2024-03', force: false }, 'Africa/Johannesburg', NOW)).toEqual({ extract: LOAN, month: '2024-03' });
    expect(rerunInput({ stage: 'prod', extract: LOAN, month: '2024-03', force: true }, 'Africa/Johannesburg', NOW)).toEqual({ extract: LOAN, month: '2024-03', force: true });
  });
});

describe('npm run rerun: starting the execution', () => {
  it('finds monthly-loan-extract-<stage> by name (across pages) and starts it with the month, printing the console link', async () => {
    sfn
      .on(ListStateMachinesCommand)
      .resolvesOnce({ stateMachines: [{ name: 'other', stateMachineArn: 'arn:other', type: 'STANDARD', creationDate: NOW }], nextToken: 'page-2' })
      .resolvesOnce({ stateMachines: [{ name: 'monthly-loan-extract-prod', stateMachineArn: MACHINE, type: 'STANDARD', creationDate: NOW }] });
    sfn.on(StartExecutionCommand).resolves({
      executionArn: 'arn:aws:states:af-south-1:111122223333:execution:monthly-loan-extract-prod:rerun-2024-03-20240410T080000Z',
      startDate: NOW,
    });

    const started = await startRerun(new SFNClient({ region: 'af-south-1' }), { stage: 'prod', extract: LOAN, month: '2024-03', force: true }, PROD, NOW);

    expect(sfn).toHaveReceivedCommandTimes(ListStateMachinesCommand, 2);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE,
      name: 'rerun-loan-moving-average-2024-03-20240410T080000Z',
      input: '{"extract":"loan-moving-average","month":"2024-03","force":true}',
    });
    expect(started).toEqual({
      stateMachineArn: MACHINE,
      executionArn: 'arn:aws:states:af-south-1:111122223333:execution:monthly-loan-extract-prod:rerun-2024-03-20240410T080000Z',
      executionName: 'rerun-loan-moving-average-2024-03-20240410T080000Z',
      input: { extract: LOAN, month: '2024-03', force: true },
      consoleUrl:
        'https://af-south-1.console.aws.amazon.com/states/home?region=af-south-1#/v2/executions/details/arn:aws:states:af-south-1:111122223333:execution:monthly-loan-extract-prod:rerun-2024-03-20240410T080000Z',
    });
  });

  it('says which stage is missing when no state machine has the name, and starts nothing', async () => {
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    await expect(startRerun(new SFNClient({ region: 'af-south-1' }), { stage: 'uat', extract: LOAN, month: '2024-03', force: false }, PROD, NOW)).rejects.toThrow(
      'No state machine named monthly-loan-extract-uat in af-south-1: is stage "uat" deployed there (npm run deploy -- --stage uat)?',
    );
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
