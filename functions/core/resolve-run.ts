/**
 * ResolveRun, the first step of every execution: validate the input, read the extract's deployed
 * definition (core/deployed-extracts.ts), resolve the month in the extract's time zone, take the
 * extract's month in the ledger. The outcome drives the state machine's first Choice:
 *   run      the execution holds the month; `run` (with the whole definition at `run.extract`) goes
 *            to every later state at `$.run`, so no later step reads the definition again
 *   skipped  the month already succeeded and `force` was not given: the execution succeeds, doing nothing
 *   busy     another live execution holds the month: the execution succeeds, doing nothing, naming it
 * A month taken over from a dead run may carry that run's unfinished publish: it is settled
 * (core/publish-journal.ts) before anything else, and the message says what was done.
 */
import { z } from 'zod';
import type { ExtractDefinitions } from './deployed-extracts';
import { formatMonth, monthWindow } from './month';
import type { ObjectStore } from './object-store';
import { describeSettlement, settleUnfinishedPublish } from './publish-journal';
import { stagingPrefixFor, type RunContext } from './run-context';
import { parseRunInput, runInputExtract } from './run-input';
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
  | { readonly outcome: 'run'; readonly extract: string; readonly month: string; readonly run: RunContext; readonly message: string }
  | { readonly outcome: 'skipped'; readonly extract: string; readonly month: string; readonly message: string }
  | {
      readonly outcome: 'busy';
      readonly extract: string;
      readonly month: string;
      readonly holderExecutionArn: string;
      readonly message: string;
    };

export interface ResolveRunDeps {
  readonly ledger: RunLedger;
  /** The extract bucket, where a dead run's unfinished publish is settled. */
  readonly store: ObjectStore;
  /** The deployed definitions; the month is resolved in the extract's `schedule.timeZone`. */
  readonly extracts: ExtractDefinitions;
  readonly now: Date;
  /** Must outlast the longest execution, or a live run could be taken over (docs/state-machine.md). */
  readonly leaseMinutes: number;
}

export async function resolveRun(request: ResolveRunRequest, deps: ResolveRunDeps): Promise<ResolveRunResult> {
  const extract = await deps.extracts(runInputExtract(request.input));
  const input = parseRunInput(request.input, deps.now, extract.schedule.timeZone);
  const month = formatMonth(input.month);
  const runId = request.executionName;
  const id = extract.id;
  const again = JSON.stringify({ extract: id, month, force: true });
  const taken = await deps.ledger.take({
    extract: id,
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
        extract: id,
        month,
        message:
          `Skipped: ${id} ${month} already succeeded (execution ${taken.record.executionArn}, ` +
          `finished ${taken.record.finishedAt ?? taken.record.updatedAt}); nothing was changed. ` +
          `To extract it again, start with ${again}.`,
      };
    case 'busy':
      return {
        outcome: 'busy',
        extract: id,
        month,
        holderExecutionArn: taken.record.executionArn,
        message:
          `Not started: ${id} ${month} is being extracted by execution ${taken.record.executionArn} ` +
          `(lease until ${taken.record.leaseExpiresAt}); this execution changed nothing.`,
      };
    case 'taken': {
      const settled = describeSettlement(await settleUnfinishedPublish(deps.store, deps.ledger, id, month, deps.now));
      const run: RunContext = {
        extract,
        month,
        runId,
        executionArn: request.executionArn,
        force: input.force,
        window: monthWindow(input.month),
        stagingPrefix: stagingPrefixFor(id, month, runId),
      };
      return {
        outcome: 'run',
        extract: id,
        month,
        run,
        message: `Extracting ${id} ${month} (attempt ${taken.attempt}${input.force ? ', forced re-run' : ''}).${settled ? ` ${settled}` : ''}`,
      };
    }
  }
}
