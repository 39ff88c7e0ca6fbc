import { Command, Option } from 'commander';
import { BACKEND_CHOICES, MAX_WASM_THREADS, parseBackendChoice, startBackend } from '../../lib/backend';
import { formatVjpBenchTable, loadVjpBenchModel, runVjpBench } from '../../lib/bench/vjpBench';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { guarded } from '../cliErrors';
import { parseInteger, parseLatentSize } from '../optionParsers';

export function benchVjpCommand(): Command {
  return new Command('vjp')
    .description(
      "the UNet's input VJP and the SAG gradient through tf.grad and through the converter's VJP graph: time, peak tensor memory, kernel launches, agreement",
    )
    .option('--model <dir>', 'a converted model directory (default: the embedded digit model)')
    .option(
      '--controlnet <dir>',
      'with a Stable Diffusion --model: the SAG rows run through UNet + this ControlNet',
    )
    .option('--batch <count>', 'batch size', parseInteger('--batch', 1), 16)
    .option('--latent <size>', 'latent size of a Stable Diffusion model', parseLatentSize('--latent'), 64)
    .option('--n <n>', 'estimate steps of the SAG gradient', parseInteger('--n', 1, 50), 4)
    .option('--repeats <count>', 'timed rounds (median)', parseInteger('--repeats', 1), 5)
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .option(
      '--threads <n>',
      'wasm (XNNPACK) threads (default: $SAG_WASM_THREADS, else the cores)',
      parseInteger('--threads', 1, MAX_WASM_THREADS),
    )
    .option('--json', 'print the rows as JSON instead of a table')
    .action(
      guarded(async (opts) => {
        const backend = await startBackend(parseBackendChoice(opts.backend), { wasmThreads: opts.threads });
        const model = await loadVjpBenchModel(
          opts.model ?? embeddedModelDir('digit-unet'),
          opts.batch,
          opts.latent,
          opts.controlnet,
        );
        try {
          const rows = await runVjpBench(model, opts.n, opts.repeats);
          process.stdout.write(
            opts.json
              ? `${JSON.stringify({ backend: backend.description, threads: backend.threads ?? null, batch: opts.batch, rows }, null, 2)}\n`
              : `${formatVjpBenchTable(rows)}\n`,
          );
        } finally {
          model.dispose();
        }
      }),
    );
}
