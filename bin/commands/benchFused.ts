import { Command, Option } from 'commander';
import { BACKEND_CHOICES } from '../../lib/backend';
import { runFusedOpsBench } from '../../lib/bench/fusedOpsBench';
import { formatRunLine, formatVariantsBenchTable } from '../../lib/bench/variantsBench';
import { FUSED_OP_CHOICES, FusedOpChoice } from '../../converters/graph/fusedOps';
import { guarded } from '../cliErrors';
import { parseChoiceList, parseFraction, parseInteger } from '../optionParsers';

export function benchFusedCommand(): Command {
  return new Command('fused')
    .description(
      "sag's fused ops against primitive ones: `sag bench unet` (SD-architecture UNet, symplectic SAG through its VJP graph) once per --fused-ops choice, each in its own process, taking turns; time and peak tensor memory",
    )
    .option(
      '--compare <list>',
      `--fused-ops choices to compare, the baseline first (${FUSED_OP_CHOICES.join(', ')})`,
      parseChoiceList('--compare', FUSED_OP_CHOICES),
      ['groupnorm', 'all'],
    )
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('wasm'),
    )
    .option('--scale <s>', "the UNet's channel multiplier (1 = SD v1.5)", parseFraction('--scale'), 0.25)
    .option('--latent <size>', 'latent height and width', parseInteger('--latent', 8, 128), 32)
    .option('--n <n>', 'estimate steps of the SAG gradient', parseInteger('--n', 1, 50), 1)
    .option('--rounds <count>', 'rounds (median over rounds)', parseInteger('--rounds', 1), 3)
    .option('--repeats <count>', 'timed repeats per run', parseInteger('--repeats', 1), 2)
    .option('--json', 'print the rows as JSON instead of a table')
    .action(
      guarded(async (opts) => {
        const choices = opts.compare as FusedOpChoice[];
        if (choices.length < 2)
          throw new Error('--compare: expected at least two choices, e.g. groupnorm,all');
        const rows = await runFusedOpsBench({
          choices,
          backend: opts.backend,
          scale: opts.scale,
          latent: opts.latent,
          n: opts.n,
          rounds: opts.rounds,
          repeats: opts.repeats,
          onRun: opts.json
            ? undefined
            : (variant, round, result) => process.stderr.write(formatRunLine(variant.label, round, result)),
        });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ backend: opts.backend, choices, rows }, null, 2)}\n`
            : `${opts.backend}, SD-architecture UNet at scale ${opts.scale}, latent ${opts.latent}, SAG n = ${opts.n}; --fused-ops ${choices.join(' vs ')}; medians of ${opts.rounds} rounds\n${formatVariantsBenchTable(choices, rows)}\n`,
        );
      }),
    );
}
