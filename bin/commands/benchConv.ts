import { Command, Option } from 'commander';
import { BACKEND_CHOICES, parseBackendChoice, startBackend } from '../../lib/backend';
import { formatConvBenchTable, runConvBench, sdUnetConvCases } from '../../lib/bench/convBench';
import { guarded } from '../cliErrors';
import { parseFraction, parseInteger, parseLatentSize } from '../optionParsers';

export function benchConvCommand(): Command {
  return new Command('conv')
    .description(
      "SD v1.5's 3x3 convolutions: forward, tfjs's stock input VJP and sag's input VJP (a forward convolution), with their agreement",
    )
    .option('--scale <s>', 'channel multiplier (1 = SD v1.5)', parseFraction('--scale'), 1)
    .option(
      '--latent <size>',
      'latent height and width (64 = 512x512 images)',
      parseLatentSize('--latent'),
      64,
    )
    .option('--batch <count>', 'batch (2 = classifier-free guidance)', parseInteger('--batch', 1), 2)
    .option('--repeats <count>', 'timed runs per row (median)', parseInteger('--repeats', 1), 5)
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .option('--json', 'print the rows as JSON instead of a table')
    .action(
      guarded(async (opts) => {
        const backend = await startBackend(parseBackendChoice(opts.backend));
        const rows = await runConvBench(sdUnetConvCases(opts.latent, opts.scale, opts.batch), opts.repeats);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ backend: backend.description, rows }, null, 2)}\n`
            : `${formatConvBenchTable(rows)}\n`,
        );
      }),
    );
}
