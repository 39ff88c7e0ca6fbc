import { ownSagCommand, runSagProcess } from '../sagProcess';
import { formatTextTable } from './textTable';
import { median } from './timing';
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
  onRun?: (threads: number, round: number, rows: VjpBenchRow[]) => void;
}

export interface ThreadsBenchRow {
  operation: string;
  /** Median ms over the rounds, per thread count (in the order of `threads`). */
  ms: number[];
}

/**
 * `sag bench vjp` on wasm with each thread count in its own process (a process starts wasm once), the thread counts
 * taking turns round by round so that all see the same machine load; medians over the rounds.
 */
export async function runThreadsBench(options: ThreadsBenchOptions): Promise<ThreadsBenchRow[]> {
  const command = options.sagCommand ?? ownSagCommand();
  const times = new Map<string, number[][]>();
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, threads] of options.threads.entries()) {
      const args = ['bench', 'vjp', '--json', '--backend', 'wasm', '--threads', String(threads)];
      args.push(
        '--batch',
        String(options.batch),
        '--n',
        String(options.n),
        '--repeats',
        String(options.repeats),
      );
      if (options.model) args.push('--model', options.model);
      const result = JSON.parse(await runSagProcess(command, args)) as {
        threads: number;
        rows: VjpBenchRow[];
      };
      if (result.threads !== threads) {
        throw new Error(`wasm started with ${result.threads} threads when ${threads} were asked for`);
      }
      for (const row of result.rows) {
        if (!times.has(row.operation))
          times.set(
            row.operation,
            options.threads.map(() => []),
          );
        (times.get(row.operation) as number[][])[i].push(row.ms);
      }
      options.onRun?.(threads, round, result.rows);
    }
  }
  return [...times].map(([operation, perThreads]) => ({ operation, ms: perThreads.map(median) }));
}

export function formatThreadsBenchTable(threads: number[], rows: ThreadsBenchRow[]): string {
  const speedups = threads.slice(1).map((t) => `${t} vs ${threads[0]}`);
  return formatTextTable(
    ['operation', ...threads.map((t) => `${t} thread${t === 1 ? '' : 's'} ms`), ...speedups],
    rows.map((r) => [
      r.operation,
      ...r.ms.map((ms) => ms.toFixed(0)),
      ...r.ms.slice(1).map((ms) => `${(r.ms[0] / ms).toFixed(2)}x`),
    ]),
    1,
  );
}
