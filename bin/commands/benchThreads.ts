import { Command } from 'commander';
import { formatThreadsBenchTable, runThreadsBench } from '../../lib/bench/threadsBench';
import { formatRunLine } from '../../lib/bench/variantsBench';
import { MAX_WASM_THREADS } from '../../lib/backend';
import { guarded } from '../cliErrors';
import { parseInteger, parseIntegerList } from '../optionParsers';

export function benchThreadsCommand(): Command {
  return new Command('threads')
    .description(
      "wasm with 1, 2, ... threads (XNNPACK's, or with native kernels the BLAS library's): `sag bench vjp` (forward, input VJP, SAG gradient) per thread count in its own process, taking turns",
    )
    .option('--threads <list>', 'thread counts to compare', parseIntegerList('--threads'), [1, 2])
    .option('--rounds <count>', 'rounds (median over rounds)', parseInteger('--rounds', 1), 3)
    .option('--repeats <count>', 'timed repeats per run', parseInteger('--repeats', 1), 3)
    .option('--batch <count>', 'batch size', parseInteger('--batch', 1), 16)
    .option('--n <n>', 'estimate steps of the SAG gradient', parseInteger('--n', 1, 50), 4)
    .option('--model <dir>', 'a converted model directory (default: the embedded digit model)')
    .option('--json', 'print the rows as JSON instead of a table')
    .action(
      guarded(async (opts) => {
        const threads = opts.threads as number[];
        const bad = threads.find((t) => t < 1 || t > MAX_WASM_THREADS);
        if (bad !== undefined)
          throw new Error(`--threads: expected counts from 1 to ${MAX_WASM_THREADS}, got ${bad}`);
        const rows = await runThreadsBench({
          threads,
          rounds: opts.rounds,
          repeats: opts.repeats,
          batch: opts.batch,
          n: opts.n,
          model: opts.model,
          onRun: opts.json
            ? undefined
            : (t, round, result) =>
                process.stderr.write(formatRunLine(`${t} thread${t === 1 ? '' : 's'}`, round, result)),
        });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ batch: opts.batch, threads, rows }, null, 2)}\n`
            : `wasm, batch ${opts.batch}, medians of ${opts.rounds} rounds\n${formatThreadsBenchTable(threads, rows)}\n`,
        );
      }),
    );
}
