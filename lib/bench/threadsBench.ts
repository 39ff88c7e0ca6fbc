import { BenchVariant, VariantsBenchRow, formatVariantsBenchTable, runVariantsBench } from './variantsBench';
import { VjpBenchRow } from './vjpBench';

export interface ThreadsBenchOptions {
  /** Thread counts to compare, e.g. [1, 2]. */
  threads: number[];
  /** Rounds; each round runs `sag bench vjp` once per thread count, in turn. */
  rounds: number;
  /** Timed repeats inside each `sag bench vjp` run. */
  repeats: number;
  batch: number;
  n: number;
  /** A converted model directory (default: the embedded digit model). */
  model?: string;
  /** How to start `sag` again (default: this process's own command). */
  sagCommand?: string[];
  onRun?: (threads: number, round: number, rows: { operation: string; ms: number }[]) => void;
}

export type ThreadsBenchRow = VariantsBenchRow;

const threadLabel = (threads: number) => `${threads} thread${threads === 1 ? '' : 's'}`;

/**
 * `sag bench vjp` on wasm with each thread count in its own process (a process starts wasm once), the thread counts
 * taking turns round by round so that all see the same machine load; medians over the rounds.
 */
export async function runThreadsBench(options: ThreadsBenchOptions): Promise<ThreadsBenchRow[]> {
  const threadsOf = new Map<BenchVariant, number>();
  const variants = options.threads.map((threads) => {
    const variant = { label: threadLabel(threads), args: ['--threads', String(threads)] };
    threadsOf.set(variant, threads);
    return variant;
  });
  return runVariantsBench<{ threads: number; rows: VjpBenchRow[] }>({
    variants,
    args: [
      'bench',
      'vjp',
      '--json',
      '--backend',
      'wasm',
      '--batch',
      String(options.batch),
      '--n',
      String(options.n),
      '--repeats',
      String(options.repeats),
      ...(options.model ? ['--model', options.model] : []),
    ],
    rounds: options.rounds,
    sagCommand: options.sagCommand,
    rowsOf: (result, variant) => {
      const threads = threadsOf.get(variant) as number;
      if (result.threads !== threads)
        throw new Error(`wasm started with ${result.threads} threads when ${threads} were asked for`);
      return result.rows;
    },
    onRun:
      options.onRun &&
      ((variant, round, rows) => options.onRun?.(threadsOf.get(variant) as number, round, rows)),
  });
}

export function formatThreadsBenchTable(threads: number[], rows: ThreadsBenchRow[]): string {
  return formatVariantsBenchTable(threads.map(threadLabel), rows);
}
