import { Command } from 'commander';
import { MAX_WASM_THREADS, askedWasmThreadCount } from '../../lib/backend';
import { nativeBlasAvailability } from '../../lib/backend/nativeBlas';
import { NATIVE_BENCH_LABELS, runNativeBench } from '../../lib/bench/nativeBench';
import { formatRunLine, formatVariantsBenchTable } from '../../lib/bench/variantsBench';
import { guarded } from '../cliErrors';
import { parseFraction, parseInteger } from '../optionParsers';
import { RunFailedError } from '../../lib/runFailure';

export function benchNativeCommand(): Command {
  return new Command('native')
    .description(
      "wasm with its own kernels against sag's native kernels (Conv2D and BatchMatMul on OpenBLAS or another BLAS, GroupNorm in C): `sag bench vjp` (or `sag bench unet` with --unet-scale) per variant in its own process, taking turns",
    )
    .option(
      '--threads <n>',
      "threads of both variants (XNNPACK's without native kernels, the BLAS library's with them; default: $SAG_WASM_THREADS, else each its default: XNNPACK on every core, BLAS on half the logical cores)",
      parseInteger('--threads', 1, MAX_WASM_THREADS),
    )
    .option('--rounds <count>', 'rounds (median over rounds)', parseInteger('--rounds', 1), 3)
    .option('--repeats <count>', 'timed repeats per run', parseInteger('--repeats', 1), 3)
    .option('--batch <count>', 'batch size (bench vjp)', parseInteger('--batch', 1), 16)
    .option('--n <n>', 'estimate steps of the SAG gradient', parseInteger('--n', 1, 50), 4)
    .option('--model <dir>', 'a converted model directory for bench vjp (default: the embedded digit model)')
    .option(
      '--unet-scale <s>',
      "instead: bench unet's SD-architecture UNet at this channel scale (e.g. 0.25)",
      parseFraction('--unet-scale'),
    )
    .option('--latent <size>', 'latent size of the --unet-scale UNet', parseInteger('--latent', 8, 128), 16)
    .option('--skip-if-unavailable', 'exit 0, saying why, where the benchmark cannot run (default: exit 1)')
    .option('--json', 'print the rows as JSON instead of a table')
    .action(
      guarded(async (opts) => {
        const available = nativeBlasAvailability();
        if (typeof available === 'string') {
          if (!opts.skipIfUnavailable)
            throw new RunFailedError(
              `sag bench native cannot run: ${available} (pass --skip-if-unavailable to skip it with exit code 0)`,
            );
          process.stderr.write(`sag bench native: skipped: ${available}\n`);
          return;
        }
        const threads = askedWasmThreadCount(opts.threads);
        const rows = await runNativeBench({
          threads,
          rounds: opts.rounds,
          repeats: opts.repeats,
          batch: opts.batch,
          n: opts.n,
          model: opts.model,
          unet: opts.unetScale === undefined ? undefined : { scale: opts.unetScale, latent: opts.latent },
          onRun: opts.json
            ? undefined
            : (variant, round, result) => process.stderr.write(formatRunLine(variant.label, round, result)),
        });
        const what =
          opts.unetScale === undefined
            ? `batch ${opts.batch}`
            : `SD-architecture UNet, scale ${opts.unetScale}, latent ${opts.latent}`;
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ threads: threads ?? 'default', library: available.library, rows }, null, 2)}\n`
            : `wasm, ${what}, ${threads === undefined ? 'default threads (XNNPACK: every core; BLAS: half the logical cores)' : `${threads} thread${threads === 1 ? '' : 's'}`}, native kernels on ${available.library}; medians of ${opts.rounds} rounds\n${formatVariantsBenchTable(NATIVE_BENCH_LABELS, rows)}\n`,
        );
      }),
    );
}
