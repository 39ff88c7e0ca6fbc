/**
 * How converted graphs run on webgpu: 'recorded' (the default) records a graph's dispatches on its first run for
 * each input shape and replays them after; 'tfjs' runs every op through tfjs as it comes. Other backends always
 * run graphs through tfjs.
 */
export const GRAPH_EXECUTORS = ['recorded', 'tfjs'] as const;
export type GraphExecutor = (typeof GRAPH_EXECUTORS)[number];

let chosen: GraphExecutor = 'recorded';

export function setGraphExecutor(executor: GraphExecutor): void {
  if (!GRAPH_EXECUTORS.includes(executor))
    throw new Error(`executor: expected one of ${GRAPH_EXECUTORS.join(', ')}, got ${String(executor)}`);
  chosen = executor;
}

export function graphExecutor(): GraphExecutor {
  return chosen;
}

/** What the recorded executor did since the process started (or since `resetRecordedExecutorStats`). */
export interface RecordedExecutorStats {
  recordings: number;
  /** Graph runs that could not be recorded, with the first reason. */
  refusals: number;
  refusalReason: string | null;
  replays: number;
  /** Dispatches issued by replays. */
  dispatches: number;
  /** CPU time spent issuing replays (encoding and submitting), ms. */
  issueMs: number;
  /** GPU memory the live recordings hold (their slots, intermediates and uniforms), bytes. */
  heldBytes: number;
}

/** The counters at their start; heldBytes is left as it is by a reset (the recordings still hold their buffers). */
function freshCounters(): Omit<RecordedExecutorStats, 'heldBytes'> {
  return { recordings: 0, refusals: 0, refusalReason: null, replays: 0, dispatches: 0, issueMs: 0 };
}

export const recordedExecutorStats: RecordedExecutorStats = { ...freshCounters(), heldBytes: 0 };

export function resetRecordedExecutorStats(): void {
  Object.assign(recordedExecutorStats, freshCounters());
}
