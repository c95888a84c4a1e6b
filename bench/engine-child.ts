/**
 * One measured run of the engine step (or of the naive extract) in a process of its own, so that
 * its peak memory is its own. Started by bench/sides.ts; prints one JSON line on stdout.
 *
 *   node --import tsx bench/engine-child.ts '{"mode":"engine","sourceUrl":"postgres://…","month":"2025-10","outDir":"/tmp/…"}'
 */
import { monthWindow, parseMonth } from '../functions/core/month';
import { onEnginePhase, type EnginePhase } from '../local/engine/engine-trace';
import { DEFAULT_EXTRACT_ID, findExtract } from '../extracts/folders';
import { runExtractJob } from '../local/engine/extract-job';
import { FolderStagingSink } from '../local/engine/staging-sink';
import { runNaiveExtract } from './naive-extract';

export interface EngineChildInput {
  readonly mode: 'engine' | 'naive';
  readonly sourceUrl: string;
  readonly month: string;
  readonly outDir: string;
}

export interface EngineChildOutput {
  readonly ms: number;
  readonly sourceRows: readonly { table: string; row_count: number }[];
  readonly parts: readonly { bankId: number; key: string; rows: number }[];
  readonly phases: readonly EnginePhase[];
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '') as EngineChildInput;
  const window = monthWindow(parseMonth(input.month));
  const sink = new FolderStagingSink(input.outDir);
  const phases: EnginePhase[] = [];
  onEnginePhase((phase) => phases.push(phase));
  const started = performance.now();
  const result =
    input.mode === 'engine'
      ? await runExtractJob({ extract: findExtract(DEFAULT_EXTRACT_ID), sourceUrl: input.sourceUrl, window, sink, runId: 'bench' }).then(
          (job) => ({ ...job, parts: job.parts.map((p) => ({ bankId: p.entityId, key: p.key, rows: p.rows })) }),
        )
      : await runNaiveExtract(input.sourceUrl, window, sink);
  const output: EngineChildOutput = { ms: performance.now() - started, sourceRows: result.sourceRows, parts: result.parts, phases };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
