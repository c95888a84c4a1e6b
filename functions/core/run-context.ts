/**
 * What ResolveRun hands to every later state of one execution (the state machine keeps it at
 * `$.run`). Plain data: it must survive JSON between states. Its schema is checked at the edge of
 * every handler that takes it, so core code can trust it: in particular publishing deletes
 * everything under `stagingPrefix`, which must therefore be this run's and nothing more.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { InvalidInputError } from './errors';
import { extractDefinitionSchema } from './extract-definition';
import { monthWindow, monthWindowSchema, parseMonth } from './month';

/** Staging lives beside the extracts, under a prefix a lifecycle rule expires. */
export function stagingPrefixFor(extractId: string, month: string, runId: string): string {
  return `staging/extract=${extractId}/month=${month}/run=${runId}/`;
}

export const runContextSchema = z
  .object({
    /** The extract's definition (core/extract-definition.ts) as ResolveRun read it: the whole run uses this one. */
    extract: extractDefinitionSchema,
    /** The extract month, `YYYY-MM`. */
    month: z.string(),
    /** Unique per execution (the execution's name); names staging and part files. */
    runId: z
      .string()
      .min(1)
      .max(80)
      .regex(/^[^\s/]+$/, 'must be an execution name: no spaces or slashes'),
    /** ARN of the execution that holds the month in the ledger. */
    executionArn: z.string().min(1),
    /** Re-run of a month that already succeeded. */
    force: z.boolean(),
    /** The month's window and file-naming parts, computed once by the month logic. */
    window: monthWindowSchema,
    /** Key prefix (ending in `/`) in the extract bucket where the Glue job writes this run's staging layout. */
    stagingPrefix: z.string(),
  })
  .readonly()
  .superRefine((run, context) => {
    let window;
    try {
      window = monthWindow(parseMonth(run.month));
    } catch (error) {
      context.addIssue({ code: 'custom', path: ['month'], message: error instanceof InvalidInputError ? error.reason : String(error) });
      return;
    }
    if (!isDeepStrictEqual(run.window, window)) {
      context.addIssue({ code: 'custom', path: ['window'], message: `is not the window of ${run.month} (${JSON.stringify(window)})` });
    }
    const prefix = stagingPrefixFor(run.extract.id, run.month, run.runId);
    if (run.stagingPrefix !== prefix) {
      context.addIssue({ code: 'custom', path: ['stagingPrefix'], message: `must be this run's staging prefix ${prefix}` });
    }
  });

export type RunContext = z.infer<typeof runContextSchema>;

/** The payload of the states that only need the run: `{"run": RunContext}`. */
export const runPayloadSchema = z.object({ run: runContextSchema });
