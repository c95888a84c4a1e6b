/** Run contexts as ResolveRun makes them, for tests: the extract's definition read from its folder. */
import { DEFAULT_EXTRACT_ID, findExtract } from '../../extracts/folders';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { stagingPrefixFor, type RunContext } from '../../functions/core/run-context';
import type { ExtractDefinition } from '../../functions/core/extract-definition';

export const LOAN_EXTRACT: ExtractDefinition = findExtract(DEFAULT_EXTRACT_ID).definition;

export function runContextFor(
  month: string,
  runId: string,
  options: { extract?: ExtractDefinition; force?: boolean; executionArn?: string } = {},
): RunContext {
  const extract = options.extract ?? LOAN_EXTRACT;
  return {
    extract,
    month,
    runId,
    executionArn: options.executionArn ?? `arn:aws:states:af-south-1:123456789012:execution:monthly-loan-extract-dev:${runId}`,
    force: options.force ?? false,
    window: monthWindow(parseMonth(month)),
    stagingPrefix: stagingPrefixFor(extract.id, month, runId),
  };
}
