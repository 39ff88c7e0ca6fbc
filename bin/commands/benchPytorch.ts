import * as path from 'path';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES, MAX_WASM_THREADS, parseBackendChoice, startBackend } from '../../lib/backend';
import { formatPytorchBenchTable, runPytorchBench } from '../../lib/bench/pytorchBench';
import { pytorchUnavailable } from '../../lib/bench/pytorchWorker';
import { packageRoot } from '../../lib/packageRoot';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { guarded } from '../cliErrors';
import { parseInteger, parseIntegerList } from '../optionParsers';
import { RunFailedError } from '../../lib/runFailure';

export function benchPytorchCommand(): Command {
  return new Command('pytorch')
    .description(
      'the embedded digit UNet + classifier in PyTorch (CPU) and in sag, timed in alternation: forward, input VJP, SAG gradient (symplectic, direct), peak memory',
    )
    .option(
      '--threads <n>',
      "threads for both sides: PyTorch's intra-op threads and sag's wasm (XNNPACK) threads",
      parseInteger('--threads', 1, MAX_WASM_THREADS),
      1,
    )
    .option('--batch <list>', 'batch sizes', parseIntegerList('--batch'), [1, 16])
    .option('--n <n>', 'estimate steps of the SAG gradient', parseInteger('--n', 1, 50), 4)
    .option('--repeats <count>', 'timed runs per row and side (median)', parseInteger('--repeats', 1), 7)
    .option('--timestep <t>', 'where the estimate starts', parseInteger('--timestep', 1, 999), 500)
    .option('--python <path>', 'Python with PyTorch and numpy', 'python3')
    .addOption(
      new Option('--backend <name>', "sag's compute backend").choices([...BACKEND_CHOICES]).default('wasm'),
    )
    .option('--skip-if-unavailable', 'exit 0, saying why, where the benchmark cannot run (default: exit 1)')
    .option('--json', 'print the result as JSON instead of a table')
    .action(
      guarded(async (opts) => {
        const missing = pytorchUnavailable(opts.python);
        if (missing) {
          if (!opts.skipIfUnavailable)
            throw new RunFailedError(
              `sag bench pytorch cannot run: ${missing} (pass --skip-if-unavailable to skip it with exit code 0)`,
            );
          process.stderr.write(`sag bench pytorch: skipped: ${missing}\n`);
          return;
        }
        const backend = await startBackend(parseBackendChoice(opts.backend), { wasmThreads: opts.threads });
        const result = await runPytorchBench({
          unetDir: embeddedModelDir('digit-unet'),
          classifierDir: embeddedModelDir('digit-classifier'),
          python: opts.python,
          script: path.join(packageRoot(), 'bench', 'torch_digits.py'),
          batches: opts.batch,
          n: opts.n,
          repeats: opts.repeats,
          timestep: opts.timestep,
          target: 7,
          torchThreads: opts.threads,
          onRow: opts.json
            ? undefined
            : (r) =>
                process.stderr.write(
                  `  ${r.operation} b=${r.batch}: PyTorch ${r.torchMs.toFixed(1)} ms, sag ${r.sagMs.toFixed(1)} ms\n`,
                ),
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ backend: backend.description, ...result }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `PyTorch ${result.torch.torch}, ${result.torch.threads} thread${result.torch.threads === 1 ? '' : 's'}; sag on ${backend.description}; same outputs (eps rel. ${result.agreement.eps_rel.toExponential(1)}, logits ${result.agreement.logits_rel.toExponential(1)})\n${formatPytorchBenchTable(result.rows)}\n`,
        );
      }),
    );
}
