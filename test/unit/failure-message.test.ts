import {
  failureBody,
  failureSubject,
  MAX_SUBJECT_LENGTH,
  readableCause,
  stateMachineArnOf,
  type FailureReport,
} from '../../functions/core/failure-message';

const EXECUTION = 'arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-prod:2f0c6b1e-7d3a-4c59-9a8e-5b1d2c3e4f60';
const MACHINE = 'arn:aws:states:af-south-1:123456789012:stateMachine:monthly-loan-extract-prod';

const report: FailureReport = {
  stage: 'prod',
  region: 'af-south-1',
  executionArn: EXECUTION,
  status: 'FAILED',
  extract: 'loan-moving-average',
  month: '2024-03',
  failedStep: 'GetExtractJobState',
  error: 'ExtractJobFailed',
  cause: 'Glue job monthly-loan-extract-prod run jr_1 ended FAILED: Connection refused',
  ledger: { kind: 'marked-failed' },
  rerunInput: { extract: 'loan-moving-average', month: '2024-03' },
};

describe('failure email subject', () => {
  it('names the stage, extract, month, failed step and error', () => {
    expect(failureSubject(report)).toBe('[prod] loan-moving-average 2024-03 failed at GetExtractJobState: ExtractJobFailed');
  });

  it('says timed out or aborted when the execution was stopped from outside a step', () => {
    expect(failureSubject({ ...report, status: 'TIMED_OUT', failedStep: null, error: 'States.Timeout' })).toBe(
      '[prod] loan-moving-average 2024-03 timed out: States.Timeout',
    );
    expect(failureSubject({ ...report, status: 'ABORTED', failedStep: null, error: 'ExecutionAborted' })).toBe(
      '[prod] loan-moving-average 2024-03 was aborted: ExecutionAborted',
    );
  });

  it('stays within SNS\'s 100 printable ASCII characters', () => {
    const subject = failureSubject({ ...report, stage: 'préprod', error: 'X'.repeat(200) });
    expect(subject).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(subject).toMatch(/^\[pr\?prod\] loan-moving-average 2024-03 failed at GetExtractJobState: X+\.\.\.$/);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('failure email body', () => {
  it('gives stage, extract, month, step, error, cause, the execution link and the exact re-run input', () => {
    expect(failureBody(report)).toBe(
      [
        'The monthly extract loan-moving-average failed.',
        '',
        'Stage:        prod',
        'Extract:      loan-moving-average',
        'Month:        2024-03',
        'Failed step:  GetExtractJobState',
        'Error:        ExtractJobFailed',
        'Cause:        Glue job monthly-loan-extract-prod run jr_1 ended FAILED: Connection refused',
        `Execution:    ${EXECUTION}`,
        `              https://af-south-1.console.aws.amazon.com/states/home?region=af-south-1#/v2/executions/details/${EXECUTION}`,
        '',
        'Ledger:       loan-moving-average 2024-03 is marked FAILED; it can be re-run now.',
        '',
        'How to re-run',
        '  Step Functions console > State machines > monthly-loan-extract-prod > Start execution, with the input:',
        '',
        '    {"extract":"loan-moving-average","month":"2024-03"}',
        '',
        `  https://af-south-1.console.aws.amazon.com/states/home?region=af-south-1#/statemachines/view/${MACHINE}`,
        `  or: aws stepfunctions start-execution --state-machine-arn ${MACHINE} --input '{"extract":"loan-moving-average","month":"2024-03"}'`,
        '',
      ].join('\n'),
    );
  });

  it('a forced run is re-run with force', () => {
    const body = failureBody({ ...report, rerunInput: { extract: 'loan-moving-average', month: '2024-03', force: true } });
    expect(body).toContain('\n    {"extract":"loan-moving-average","month":"2024-03","force":true}\n');
    expect(body).toContain(`--input '{"extract":"loan-moving-average","month":"2024-03","force":true}'`);
  });

  it('bad input is not re-run as is: the body says how to write a good one', () => {
    const body = failureBody({
      ...report,
      month: null,
      failedStep: 'ResolveRun',
      error: 'InvalidInput',
      cause: 'month: "2024-13" has month 13; months run from 01 to 12',
      ledger: { kind: 'not-taken' },
      rerunInput: null,
    });
    expect(body).toContain('Month:        not resolved (the input was rejected)\n');
    expect(body).toContain('Cause:        month: "2024-13" has month 13; months run from 01 to 12\n');
    expect(body).toContain('Ledger:       this execution never held a month, so nothing was recorded.\n');
    expect(body).toContain('  Fix the input and start a new execution of monthly-loan-extract-prod:\n');
    expect(body).toContain('    {"extract":"loan-moving-average","month":"YYYY-MM","force":true}    a month that already succeeded\n');
    expect(body).not.toContain('--input');
  });

  it('an input whose extract could not be told names none, and the good inputs say where the id goes', () => {
    const failed = { ...report, extract: null, month: null, failedStep: 'ResolveRun', error: 'InvalidInput', ledger: { kind: 'not-taken' } as const, rerunInput: null };
    expect(failureSubject(failed)).toBe('[prod] (no extract) (no month) failed at ResolveRun: InvalidInput');
    const body = failureBody(failed);
    expect(body.split('\n')[0]).toBe('The monthly extract (not known: the input named none that could be used) failed.');
    expect(body).toContain('Extract:      not resolved (the input was rejected)\n');
    expect(body).toContain('    {"extract":"<extract id>"}                                   the last complete month\n');
    expect(body).toContain('    {"extract":"<extract id>","month":"YYYY-MM"}                 a given complete month\n');
  });

  it('a month held by another execution is reported as such, with advice to wait', () => {
    const other = EXECUTION.replace('2f0c6b1e', '99999999');
    const body = failureBody({ ...report, ledger: { kind: 'held-by-other', executionArn: other, status: 'RUNNING' } });
    expect(body).toContain(`Ledger:       loan-moving-average 2024-03 was not marked: the ledger shows it RUNNING by ${other}. Wait for that execution before re-running.\n`);
  });

  it('a timed-out execution says the step is not known and where to look', () => {
    const body = failureBody({ ...report, status: 'TIMED_OUT', failedStep: null });
    expect(body.split('\n')[0]).toBe('The monthly extract loan-moving-average timed out.');
    expect(body).toContain('Failed step:  not known: the execution timed out from outside a step; see its history\n');
  });
});

describe('readableCause', () => {
  it('takes errorMessage out of the JSON cause Lambda failures carry', () => {
    expect(readableCause('{"errorType":"InvalidInput","errorMessage":"force: must be true or false, got \\"yes\\"","trace":["..."]}')).toBe(
      'force: must be true or false, got "yes"',
    );
  });

  it('leaves plain text and other JSON as they are', () => {
    expect(readableCause('Task timed out after 120.00 seconds')).toBe('Task timed out after 120.00 seconds');
    expect(readableCause('{"other":1}')).toBe('{"other":1}');
    expect(readableCause(null)).toBe('');
  });
});

it('finds the state machine of an execution', () => {
  expect(stateMachineArnOf(EXECUTION)).toBe(MACHINE);
});
