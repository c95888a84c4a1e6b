/**
 * The failure email (contract section 4): which stage, extract and month, which step, the error and
 * its cause, a link to the execution, and exactly how to re-run. Plain text, because it is read in a
 * support mailbox and pasted into tickets.
 */

export type ExecutionEnd = 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What the ledger says about the month after the failure was recorded. */
export type LedgerNote =
  | { readonly kind: 'marked-failed' }
  | { readonly kind: 'held-by-other'; readonly executionArn: string; readonly status: string }
  | { readonly kind: 'not-taken' }
  | { readonly kind: 'unavailable'; readonly reason: string };

export interface FailureReport {
  readonly stage: string;
  readonly region: string;
  readonly executionArn: string;
  readonly status: ExecutionEnd;
  /** The extract's id, or null when the input named none that could be used. */
  readonly extract: string | null;
  /** `YYYY-MM`, or null when the input never resolved to a month. */
  readonly month: string | null;
  /** The state that failed, or null when the execution stopped from outside (timeout, abort). */
  readonly failedStep: string | null;
  readonly error: string;
  readonly cause: string;
  readonly ledger: LedgerNote;
  /**
   * What was done about this execution's unfinished publish (core/publish-journal.ts): one line,
   * or undefined when it had none.
   */
  readonly publishing?: string;
  /** The input to start again with; null when the input itself must be fixed first. */
  readonly rerunInput: RerunInput | null;
}

export interface RerunInput {
  readonly extract: string;
  readonly month: string;
  readonly force?: true;
}

/** SNS allows 100 printable ASCII characters on one line. */
export const MAX_SUBJECT_LENGTH = 100;

const ENDED: Record<ExecutionEnd, string> = { FAILED: 'failed', TIMED_OUT: 'timed out', ABORTED: 'was aborted' };

export function failureSubject(report: FailureReport): string {
  const where = report.failedStep ? ` at ${report.failedStep}` : '';
  const subject = `[${report.stage}] ${report.extract ?? '(no extract)'} ${report.month ?? '(no month)'} ${ENDED[report.status]}${where}: ${report.error}`;
  const ascii = subject.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= MAX_SUBJECT_LENGTH ? ascii : `${ascii.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

export function failureBody(report: FailureReport): string {
  const stateMachineArn = stateMachineArnOf(report.executionArn);
  const lines = [
    `The monthly extract ${report.extract ?? '(not known: the input named none that could be used)'} ${ENDED[report.status]}.`,
    '',
    `Stage:        ${report.stage}`,
    `Extract:      ${report.extract ?? 'not resolved (the input was rejected)'}`,
    `Month:        ${report.month ?? 'not resolved (the input was rejected)'}`,
    `Failed step:  ${report.failedStep ?? `not known: the execution ${ENDED[report.status]} from outside a step; see its history`}`,
    `Error:        ${report.error}`,
    `Cause:        ${report.cause}`,
    `Execution:    ${report.executionArn}`,
    `              ${executionConsoleUrl(report.region, report.executionArn)}`,
    '',
    `Ledger:       ${ledgerLine(report)}`,
    ...(report.publishing ? [`Files:        ${report.publishing}`] : []),
    '',
    'How to re-run',
  ];
  if (report.rerunInput) {
    const input = JSON.stringify(report.rerunInput);
    lines.push(
      `  Step Functions console > State machines > ${stateMachineNameOf(report.executionArn)} > Start execution, with the input:`,
      '',
      `    ${input}`,
      '',
      `  ${stateMachineConsoleUrl(report.region, stateMachineArn)}`,
      `  or: aws stepfunctions start-execution --state-machine-arn ${stateMachineArn} --input '${input}'`,
    );
  } else {
    const extract = JSON.stringify(report.extract ?? '<extract id>');
    const inputs = [
      [`{"extract":${extract}}`, 'the last complete month'],
      [`{"extract":${extract},"month":"YYYY-MM"}`, 'a given complete month'],
      [`{"extract":${extract},"month":"YYYY-MM","force":true}`, 'a month that already succeeded'],
    ];
    const width = Math.max(...inputs.map(([input]) => input!.length)) + 4;
    lines.push(
      `  Fix the input and start a new execution of ${stateMachineNameOf(report.executionArn)}:`,
      ...inputs.map(([input, meaning]) => `    ${input!.padEnd(width)}${meaning}`),
      '',
      `  ${stateMachineConsoleUrl(report.region, stateMachineArn)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function ledgerLine(report: FailureReport): string {
  const month = report.month ? `${report.extract} ${report.month}` : 'the month';
  switch (report.ledger.kind) {
    case 'marked-failed':
      return `${month} is marked FAILED; it can be re-run now.`;
    case 'held-by-other':
      return (
        `${month} was not marked: the ledger shows it ${report.ledger.status} by ${report.ledger.executionArn}. ` +
        (report.ledger.status === 'RUNNING' ? 'Wait for that execution before re-running.' : '')
      ).trimEnd();
    case 'not-taken':
      return 'this execution never held a month, so nothing was recorded.';
    case 'unavailable':
      return `could not be updated (${report.ledger.reason}); a RUNNING month frees itself when its lease expires.`;
  }
}

/** Lambda failures reach Step Functions with a JSON cause; the operator wants its errorMessage. */
export function readableCause(cause: string | null | undefined): string {
  if (!cause) return '';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (typeof parsed === 'object' && parsed !== null && 'errorMessage' in parsed) {
      const message = (parsed as { errorMessage: unknown }).errorMessage;
      if (typeof message === 'string') return message;
    }
  } catch {
    // Not JSON: already plain text.
  }
  return cause;
}

export function executionConsoleUrl(region: string, executionArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

export function stateMachineConsoleUrl(region: string, stateMachineArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/statemachines/view/${stateMachineArn}`;
}

/** arn:aws:states:<region>:<account>:execution:<machine>:<name> → arn:aws:states:<region>:<account>:stateMachine:<machine> */
export function stateMachineArnOf(executionArn: string): string {
  const parts = executionArn.split(':');
  if (parts.length < 8 || parts[5] !== 'execution') return executionArn;
  return [...parts.slice(0, 5), 'stateMachine', parts[6]].join(':');
}

function stateMachineNameOf(executionArn: string): string {
  return executionArn.split(':')[6] ?? 'the state machine';
}
