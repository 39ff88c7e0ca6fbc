import { Command, Option } from 'commander';
import { GRADIENT_METHODS, GradientMethod } from '../../lib/adjoint';
import { BACKEND_CHOICES } from '../../lib/backend';
import {
  GuidanceBenchConfig,
  formatGuidanceBenchTable,
  runGuidanceBench,
} from '../../lib/bench/guidanceBench';
import { GUIDANCE_METHODS, GuidanceMethod } from '../../lib/guidance/guidanceSettings';
import { TABLEAUS } from '../../lib/ode/tableaus';
import { GenerateOptions } from '../../lib/options/generateOptions';
import { LOSS_KINDS, LossKind } from '../../lib/options/lossOptions';
import { guarded } from '../cliErrors';
import { loadPipelineFromFlags } from '../modelFlags';
import { parseChoiceList, parseInteger, parseIntegerList } from '../optionParsers';

interface BenchGuidanceFlags {
  model?: string;
  clip?: string;
  arcface?: string;
  classifier?: string;
  backend: string;
  methods: GuidanceMethod[];
  n: number[];
  grads: GradientMethod[];
  steps: number;
  guidance?: LossKind[];
  target?: string;
  style?: string;
  ref?: string[];
  prompt?: string;
  size?: number;
  num: number;
  tableau?: string;
  json?: boolean;
}

/** sag n applies to every gradient method; FreeDoM and UG are one-step methods. */
function configurations(flags: BenchGuidanceFlags): GuidanceBenchConfig[] {
  const configs: GuidanceBenchConfig[] = [];
  for (const method of flags.methods) {
    if (method === 'sag') {
      for (const grad of flags.grads) for (const n of flags.n) configs.push({ method, n, grad });
    } else {
      configs.push({ method, n: 1, grad: 'symplectic' });
    }
  }
  return configs;
}

export function benchGuidanceCommand(): Command {
  return new Command('guidance')
    .description(
      'one guided sampling step per method, n and gradient method on real models: model time, guidance time, peak memory',
    )
    .option('--model <dir>', "a 'sag convert sd' directory (default: the embedded digit model)")
    .option('--clip <dir>', "a 'sag convert clip' directory")
    .option('--arcface <dir>', "a 'sag convert arcface' directory")
    .option('--classifier <dir>', 'an image classifier directory (class guidance)')
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .option(
      '--methods <list>',
      `guidance methods (${GUIDANCE_METHODS.join(', ')})`,
      parseChoiceList('--methods', GUIDANCE_METHODS),
      ['sag', 'freedom', 'ug', 'none'] as GuidanceMethod[],
    )
    .option('--n <list>', 'estimate steps for sag', parseIntegerList('--n'), [1, 2, 4])
    .option(
      '--grads <list>',
      `gradient methods for sag (${GRADIENT_METHODS.join(', ')})`,
      parseChoiceList('--grads', GRADIENT_METHODS),
      ['symplectic'] as GradientMethod[],
    )
    .option('--steps <count>', 'timed steps per row, after one warm-up', parseInteger('--steps', 1), 3)
    .option(
      '--guidance <kinds>',
      `loss (${LOSS_KINDS.join(', ')}); default for the embedded model: class`,
      parseChoiceList('--guidance', LOSS_KINDS),
    )
    .option('--target <value>', "class index or CLIP text (default for the embedded model: '7')")
    .option('--style <image>', 'style reference image')
    .option('--ref <image...>', 'reference image(s)')
    .option('--prompt <text>', 'prompt (latent models)')
    .option('--size <pixels>', 'image size', parseInteger('--size', 8))
    .option('--num <count>', 'batch size', parseInteger('--num', 1), 1)
    .addOption(new Option('--tableau <name>', 'sub-solver of the estimate').choices(Object.keys(TABLEAUS)))
    .option('--json', 'print the rows as a JSON array instead of a table')
    .action(
      guarded(async (flags: BenchGuidanceFlags) => {
        if (flags.model && !flags.guidance)
          throw new Error('--guidance: required with --model (which loss to guide with)');
        const pipeline = await loadPipelineFromFlags(flags);
        try {
          const base: Partial<GenerateOptions> = {
            guidance: flags.guidance ?? ['class'],
            target: flags.target ?? (flags.model ? null : '7'),
            num: flags.num,
            seed: 0,
          };
          if (flags.style) base.style = flags.style;
          if (flags.ref) base.ref = flags.ref;
          if (flags.prompt) base.prompt = flags.prompt;
          if (flags.size) base.size = [flags.size, flags.size];
          if (flags.tableau) base.tableau = TABLEAUS[flags.tableau];
          const rows = await runGuidanceBench(pipeline, {
            configs: configurations(flags),
            base,
            steps: flags.steps,
            onRow:
              process.stderr.isTTY && !flags.json
                ? (r) => process.stderr.write(`  ${r.method} n=${r.n}\r`)
                : undefined,
          });
          process.stdout.write(
            flags.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatGuidanceBenchTable(rows)}\n`,
          );
        } finally {
          pipeline.dispose();
        }
      }),
    );
}
