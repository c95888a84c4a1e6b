/**
 * Telling support that an execution failed, exactly once per execution, and freeing its extract month.
 * The email names the extract and goes out with the SNS message attribute `extract`, so each
 * extract's recipients (subscribed with a filter policy on it) get their extract's failures only.
 *
 * Two paths lead here:
 *   - caught: a Task failed, its Catch sent the state to NotifyFailure (we know the step, error, cause);
 *   - status change: EventBridge's "Step Functions Execution Status Change" for FAILED, TIMED_OUT
 *     or ABORTED executions, which covers what no Catch sees (timeouts, aborts, a failed NotifyFailure).
 * Both claim the execution's failure notice in the ledger before emailing. A caught failure claims
 * it before the execution ends, so its later FAILED status change finds the claim and stays quiet.
 * Before the month is marked FAILED, an unfinished publish of this execution (a publish Lambda that
 * timed out or died mid-copy) is settled, so the month's files match one manifest again; the email
 * says what was done.
 */
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import type { ExtractDefinitions } from './deployed-extracts';
import { formatMonth } from './month';
import type { ObjectStore } from './object-store';
import { describeSettlement, settleUnfinishedPublish } from './publish-journal';
import { runContextSchema } from './run-context';
import { extractNamedBy, parseRunInput } from './run-input';
import type { RunLedger } from './run-ledger';
import {
  failureBody,
  failureSubject,
  readableCause,
  type ExecutionEnd,
  type FailureReport,
  type LedgerNote,
  type RerunInput,
} from './failure-message';

/** What an alert is about, for routing: sent as SNS message attributes. */
export interface AlertAttributes {
  /** The extract's id; absent when the failure happened before any extract was known. */
  readonly extract?: string;
}

export interface AlertSender {
  send(subject: string, body: string, attributes?: AlertAttributes): Promise<void>;
}

export interface NotifyDeps {
  readonly ledger: RunLedger;
  /** The extract bucket, where this execution's unfinished publish is settled. */
  readonly store: ObjectStore;
  readonly alerts: AlertSender;
  readonly stage: string;
  readonly region: string;
  /** The deployed definitions: a failure known only by its input needs its extract's time zone for the month. */
  readonly extracts: ExtractDefinitions;
  readonly now: Date;
}

/** What a Catch puts at `$.failure.<StepName>`. */
const caughtErrorSchema = z.object({ Error: z.string().optional(), Cause: z.string().optional() });

export type CaughtError = z.infer<typeof caughtErrorSchema>;

/** The payload of the NotifyFailure state (flat: the execution's fields come from `$$.Execution`). */
export const caughtFailureEventSchema = z.object({
  /** Absent: what tells this payload from the status-change event. */
  'detail-type': z.undefined().optional(),
  /** The whole state: `run` once ResolveRun took the month, `failure` with one key, the failed step. */
  state: z.looseObject({
    run: runContextSchema.optional(),
    failure: z.record(z.string(), caughtErrorSchema).optional(),
  }),
  executionArn: z.string().min(1),
  executionName: z.string().min(1),
  /** The execution input, as given. */
  executionInput: z.unknown(),
  /** ISO-8601. */
  executionStartTime: z.string().min(1),
});

export type CaughtFailureEvent = z.infer<typeof caughtFailureEventSchema>;

export const STATUS_CHANGE = 'Step Functions Execution Status Change';

/** The EventBridge event Step Functions sends when an execution ends (the fields we read). */
export const executionStatusChangeEventSchema = EventBridgeSchema.extend({
  'detail-type': z.literal(STATUS_CHANGE),
  source: z.literal('aws.states'),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1),
    status: z.string(),
    /** Epoch milliseconds. */
    startDate: z.number(),
    /** The execution input as a JSON string. */
    input: z.string().nullable(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

export type ExecutionStatusChangeEvent = z.infer<typeof executionStatusChangeEventSchema>;

/** NotifyFailure is invoked by the state machine's Catch path and by the status-change rule. */
export const notifyFailurePayloadSchema = z.discriminatedUnion('detail-type', [caughtFailureEventSchema, executionStatusChangeEventSchema]);

export interface NoticeResult {
  readonly extract: string | null;
  readonly month: string | null;
  readonly failedStep: string | null;
  readonly error: string;
  readonly cause: string;
  /** False when this execution's failure had already been emailed. */
  readonly emailed: boolean;
  /** What was done about this execution's unfinished publish, when it had one. */
  readonly publishing?: string;
}

interface FailureFacts {
  readonly executionArn: string;
  readonly runId: string;
  readonly status: ExecutionEnd;
  /** Known from the run, else from the input; null when the input named no usable extract. */
  readonly extract: string | null;
  /** Only ever set with `extract`: a month is the month of an extract. */
  readonly month: string | null;
  readonly force: boolean;
  readonly failedStep: string | null;
  readonly error: string;
  readonly cause: string;
}

export async function notifyCaughtFailure(event: CaughtFailureEvent, deps: NotifyDeps): Promise<NoticeResult> {
  const { run, failure } = event.state;
  const [failedStep, caught] = Object.entries(failure ?? {})[0] ?? [null, {}];
  const extract = run?.extract.id ?? extractNamedBy(event.executionInput) ?? null;
  const fromInput = run ? undefined : await monthFromInput(event.executionInput, new Date(event.executionStartTime), deps);
  return notify(
    {
      executionArn: event.executionArn,
      runId: event.executionName,
      status: 'FAILED',
      extract,
      month: run?.month ?? fromInput?.month ?? null,
      force: run?.force ?? fromInput?.force ?? false,
      failedStep,
      error: caught.Error || 'Unknown',
      cause: readableCause(caught.Cause) || 'no cause was recorded',
    },
    deps,
  );
}

export async function notifyStatusChange(
  event: ExecutionStatusChangeEvent,
  deps: NotifyDeps,
): Promise<NoticeResult | { readonly ignored: string }> {
  const { detail } = event;
  if (!isExecutionEnd(detail.status)) return { ignored: `status ${detail.status} needs no email` };
  const input = parseJson(detail.input);
  const fromInput = await monthFromInput(input, new Date(detail.startDate), deps);
  return notify(
    {
      executionArn: detail.executionArn,
      runId: detail.name,
      status: detail.status,
      extract: extractNamedBy(input) ?? null,
      month: fromInput?.month ?? null,
      force: fromInput?.force ?? false,
      failedStep: null,
      error: detail.error || DEFAULT_ERROR[detail.status],
      cause: readableCause(detail.cause) || DEFAULT_CAUSE[detail.status],
    },
    deps,
  );
}

const DEFAULT_ERROR: Record<ExecutionEnd, string> = {
  FAILED: 'Unknown',
  TIMED_OUT: 'States.Timeout',
  ABORTED: 'ExecutionAborted',
};

const DEFAULT_CAUSE: Record<ExecutionEnd, string> = {
  FAILED: 'the execution failed outside any step that records its error; see its history',
  TIMED_OUT: "the execution ran longer than the state machine's TimeoutSeconds and was stopped",
  ABORTED: 'the execution was stopped (by a person or through the API) before it finished',
};

async function notify(facts: FailureFacts, deps: NotifyDeps): Promise<NoticeResult> {
  const result: NoticeResult = {
    extract: facts.extract,
    month: facts.month,
    failedStep: facts.failedStep,
    error: facts.error,
    cause: facts.cause,
    emailed: false,
  };
  if (!(await deps.ledger.claimFailureNotice(facts.executionArn, deps.now))) return result;

  const publishing = await settleOwnPublish(facts, deps);
  const ledger = await markMonthFailed(facts, deps);
  const report: FailureReport = {
    stage: deps.stage,
    region: deps.region,
    executionArn: facts.executionArn,
    status: facts.status,
    extract: facts.extract,
    month: facts.month,
    failedStep: facts.failedStep,
    error: facts.error,
    cause: facts.cause,
    ledger,
    publishing,
    rerunInput: rerunInputFor(facts),
  };
  try {
    await deps.alerts.send(failureSubject(report), failureBody(report), facts.extract ? { extract: facts.extract } : {});
  } catch (error) {
    // Leave the notice unclaimed so a retry, or the status-change event, can still send it.
    await deps.ledger.releaseFailureNotice(facts.executionArn).catch(() => undefined);
    throw error;
  }
  return { ...result, emailed: true, ...(publishing === undefined ? {} : { publishing }) };
}

/** Settles this execution's own unfinished publish, if any; a failure to do so is reported, and the journal stays for the next run. */
async function settleOwnPublish(facts: FailureFacts, deps: NotifyDeps): Promise<string | undefined> {
  if (!facts.extract || !facts.month) return undefined;
  try {
    return describeSettlement(await settleUnfinishedPublish(deps.store, deps.ledger, facts.extract, facts.month, deps.now, facts.executionArn));
  } catch (error) {
    return (
      `this execution's unfinished publish could not be settled (${error instanceof Error ? error.message : String(error)}); ` +
      'the next run of the month settles it first.'
    );
  }
}

/** Frees the month if this execution holds it; never touches a month another execution holds. */
async function markMonthFailed(
  facts: FailureFacts,
  deps: NotifyDeps,
): Promise<LedgerNote> {
  if (!facts.extract || !facts.month) return { kind: 'not-taken' };
  try {
    const marked = await deps.ledger.fail({
      extract: facts.extract,
      month: facts.month,
      executionArn: facts.executionArn,
      runId: facts.runId,
      failure: { failedStep: facts.failedStep ?? `(execution ${facts.status})`, error: facts.error, cause: facts.cause },
      now: deps.now,
    });
    if (marked.kind === 'marked') return { kind: 'marked-failed' };
    const record = marked.record;
    // Failed before ResolveRun took the month: nothing of ours to mark.
    if (!record) return { kind: 'not-taken' };
    // A retried NotifyFailure whose first try did mark it.
    if (record.executionArn === facts.executionArn && record.status === 'FAILED') return { kind: 'marked-failed' };
    return { kind: 'held-by-other', executionArn: record.executionArn, status: record.status };
  } catch (error) {
    // The email matters more than the ledger: say what happened and send it anyway.
    return { kind: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Re-run the same extract and month, with `force` only when this run was forced: a month another
 * execution has since completed needs no re-run, and forcing it would redo finished work.
 * Bad input has no re-run input: it must be fixed first.
 */
function rerunInputFor(facts: FailureFacts): RerunInput | null {
  if (!facts.extract || !facts.month || facts.error === 'InvalidInput') return null;
  const input = { extract: facts.extract, month: facts.month };
  return facts.force ? { ...input, force: true } : input;
}

/**
 * The month ResolveRun would have chosen for this input at the execution's start, in its extract's
 * time zone; null if the input is bad or its extract's definition cannot be read.
 */
async function monthFromInput(input: unknown, startTime: Date, deps: NotifyDeps): Promise<{ month: string; force: boolean } | null> {
  const extract = extractNamedBy(input);
  if (extract === undefined) return null;
  try {
    const definition = await deps.extracts(extract);
    const parsed = parseRunInput(input, startTime, definition.schedule.timeZone);
    return { month: formatMonth(parsed.month), force: parsed.force };
  } catch {
    return null;
  }
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isExecutionEnd(status: string): status is ExecutionEnd {
  return status === 'FAILED' || status === 'TIMED_OUT' || status === 'ABORTED';
}
