/**
 * ResolveRun, the first step of every execution: validate the input, resolve the month, take the
 * month in the ledger. The outcome drives the state machine's first Choice:
 *   run      the execution holds the month; `run` goes to every later state at `$.run`
 *   skipped  the month already succeeded and `force` was not given: the execution succeeds, doing nothing
 *   busy     another live execution holds the month: the execution succeeds, doing nothing, naming it
 * A month taken over from a dead run may carry that run's unfinished publish: it is settled
 * (core/publish-journal.ts) before anything else, and the message says what was done.
 */
import { z } from 'zod';
import { formatMonth, monthWindow } from './month';
import type { ObjectStore } from './object-store';
import { describeSettlement, settleUnfinishedPublish } from './publish-journal';
import { stagingPrefixFor, type RunContext } from './run-context';
import { parseRunInput } from './run-input';
import type { RunLedger } from './run-ledger';

/**
 * The Lambda payload the state machine sends (`$$.Execution.Id` / `$$.Execution.Name`). The input
 * itself is the operator's and is checked by run-input.ts, whose errors speak to the operator.
 */
export const resolveRunRequestSchema = z.object({
  /** The execution input, as given. */
  input: z.unknown(),
  executionArn: z.string().min(1),
  executionName: z.string().min(1),
});

export type ResolveRunRequest = z.infer<typeof resolveRunRequestSchema>;

export type ResolveRunResult =
  | { readonly outcome: 'run'; readonly month: string; readonly run: RunContext; readonly message: string }
  | { readonly outcome: 'skipped'; readonly month: string; readonly message: string }
  | {
      readonly outcome: 'busy';
      readonly month: string;
      readonly holderExecutionArn: string;
      readonly message: string;
    };

export interface ResolveRunDeps {
  readonly ledger: RunLedger;
  /** The extract bucket, where a dead run's unfinished publish is settled. */
  readonly store: ObjectStore;
  readonly now: Date;
  /** IANA name of the stage's time zone: "last complete month" is a calendar month there. */
  readonly timeZone: string;
  /** Must outlast the longest execution, or a live run could be taken over (docs/state-machine.md). */
  readonly leaseMinutes: number;
}

export async function resolveRun(request: ResolveRunRequest, deps: ResolveRunDeps): Promise<ResolveRunResult> {
  const input = parseRunInput(request.input, deps.now, deps.timeZone);
  const month = formatMonth(input.month);
  const runId = request.executionName;
  const taken = await deps.ledger.take({
    month,
    executionArn: request.executionArn,
    runId,
    force: input.force,
    now: deps.now,
    leaseExpiresAt: new Date(deps.now.getTime() + deps.leaseMinutes * 60_000),
  });

  switch (taken.kind) {
    case 'skipped':
      return {
        outcome: 'skipped',
        month,
        message:
          `Skipped: ${month} already succeeded (execution ${taken.record.executionArn}, ` +
          `finished ${taken.record.finishedAt ?? taken.record.updatedAt}); nothing was changed. ` +
          `To extract it again, start with {"month":"${month}","force":true}.`,
      };
    case 'busy':
      return {
        outcome: 'busy',
        month,
        holderExecutionArn: taken.record.executionArn,
        message:
          `Not started: ${month} is being extracted by execution ${taken.record.executionArn} ` +
          `(lease until ${taken.record.leaseExpiresAt}); this execution changed nothing.`,
      };
    case 'taken': {
      const settled = describeSettlement(await settleUnfinishedPublish(deps.store, deps.ledger, month, deps.now));
      const run: RunContext = {
        month,
        runId,
        executionArn: request.executionArn,
        force: input.force,
        window: monthWindow(input.month),
        stagingPrefix: stagingPrefixFor(month, runId),
      };
      return {
        outcome: 'run',
        month,
        run,
        message: `Extracting ${month} (attempt ${taken.attempt}${input.force ? ', forced re-run' : ''}).${settled ? ` ${settled}` : ''}`,
      };
    }
  }
}
