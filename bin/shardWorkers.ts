import { wasmThreadCount } from '../lib/backend';
import { runSagProcess } from '../lib/sagProcess';

/** Each of `workers` processes' share of the wasm threads (at least one). */
export function wasmThreadsPerWorker(workers: number): number {
  return Math.max(1, Math.floor(wasmThreadCount() / workers));
}

export interface ShardWorkersOptions {
  /** How to start sag (ownSagCommand()). */
  command: string[];
  /** The command's arguments; each worker gets them plus `--shard i/workers`. */
  args: string[];
  workers: number;
  /** Added to each worker's environment (e.g. its share of the wasm threads). */
  env: Record<string, string>;
  /** Called about once a second while the workers run (progress from their output files). */
  onPoll?: () => void;
}

/**
 * Runs the same sag command in `workers` child processes, each told its shard. Resolves when all have finished;
 * at the first failure stops the other workers and rejects with it (the failed worker's stderr's end).
 */
export async function runShardWorkers(options: ShardWorkersOptions): Promise<void> {
  const timer = options.onPoll ? setInterval(options.onPoll, 1000) : null;
  const stop = new AbortController();
  // Interrupted, the parent takes its workers with it (finished cells stay; a rerun resumes).
  const interrupted = (signal: NodeJS.Signals) => {
    stop.abort();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await Promise.all(
      Array.from({ length: options.workers }, (_, i) =>
        runSagProcess(
          options.command,
          [...options.args, '--shard', `${i}/${options.workers}`],
          options.env,
          stop.signal,
        ),
      ),
    );
    options.onPoll?.();
  } catch (error) {
    stop.abort();
    throw error;
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}
