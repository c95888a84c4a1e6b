/**
 * Where the extract job's time goes, for whoever listens (the benchmark does; nothing else needs to).
 * The job reports each phase as it ends; with no listener this costs a clock read per phase.
 */
export interface EnginePhase {
  /** `schema`, `read:<table>`, `compute`, `stage`. */
  readonly name: string;
  readonly ms: number;
  /** Rows the phase read or wrote, where that means something. */
  readonly rows?: number;
}

type PhaseListener = (phase: EnginePhase) => void;

const listeners = new Set<PhaseListener>();

/** Calls `listener` for every phase of every extract job in this process; returns the unsubscribe function. */
export function onEnginePhase(listener: PhaseListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function reportPhase(phase: EnginePhase): void {
  for (const listener of listeners) listener(phase);
}

/** Runs `work` and reports it as phase `name`. */
export async function tracePhase<T>(name: string, work: () => Promise<T>, rowsOf?: (result: T) => number): Promise<T> {
  const started = performance.now();
  const result = await work();
  reportPhase({ name, ms: performance.now() - started, ...(rowsOf ? { rows: rowsOf(result) } : {}) });
  return result;
}
