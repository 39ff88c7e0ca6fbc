import { Command, Option } from 'commander';
import { GRADIENT_METHODS } from '../../lib/adjoint';
import { BACKEND_CHOICES, parseBackendChoice, startBackend } from '../../lib/backend';
import {
  DEFAULT_ADJOINT_BENCH,
  formatAdjointBenchTable,
  runAdjointBench,
} from '../../lib/bench/adjointBench';
import { TABLEAUS } from '../../lib/ode';
import { guarded } from '../cliErrors';
import { parseChoiceList, parseInteger, parseIntegerList } from '../optionParsers';

export function benchAdjointCommand(): Command {
  const d = DEFAULT_ADJOINT_BENCH;
  return new Command('adjoint')
    .description(
      'gradient through the n-step clean estimate on a synthetic eps-network: error vs direct backprop, peak memory, time',
    )
    .option('--n <list>', 'estimate steps to measure', parseIntegerList('--n'), d.ns)
    .option(
      '--methods <list>',
      `gradient methods (${GRADIENT_METHODS.join(', ')})`,
      parseChoiceList('--methods', GRADIENT_METHODS),
      d.methods,
    )
    .option(
      '--tableaus <list>',
      `sub-solver tableaus (${Object.keys(TABLEAUS).join(', ')})`,
      parseChoiceList('--tableaus', Object.keys(TABLEAUS)),
      d.tableaus,
    )
    .option(
      '--width <channels>',
      'hidden width of the synthetic network',
      parseInteger('--width', 8),
      d.width,
    )
    .option(
      '--resolution <pixels>',
      'sample height and width (even)',
      parseInteger('--resolution', 2),
      d.resolution,
    )
    .option('--batch <size>', 'batch size', parseInteger('--batch', 1), d.batch)
    .option(
      '--timestep <t>',
      'timestep where the estimate starts',
      parseInteger('--timestep', 1, 999),
      d.timestep,
    )
    .option(
      '--repeats <count>',
      'timed runs per row (median reported)',
      parseInteger('--repeats', 1),
      d.repeats,
    )
    .option('--seed <seed>', 'seed of the network weights and inputs', parseInteger('--seed', 0), d.seed)
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .option('--json', 'print the rows as a JSON array instead of a table')
    .action(
      guarded(async (opts) => {
        if (opts.resolution % 2 !== 0)
          throw new Error(`--resolution: expected an even number, got ${opts.resolution}`);
        if (opts.width % 8 !== 0)
          throw new Error(`--width: expected a multiple of 8 (GroupNorm groups), got ${opts.width}`);
        await startBackend(parseBackendChoice(opts.backend));
        const rows = await runAdjointBench({
          methods: opts.methods,
          tableaus: opts.tableaus,
          ns: opts.n,
          width: opts.width,
          resolution: opts.resolution,
          batch: opts.batch,
          timestep: opts.timestep,
          seed: opts.seed,
          repeats: opts.repeats,
          onRow:
            opts.json || !process.stderr.isTTY
              ? undefined
              : (r) => process.stderr.write(`  ${r.method} ${r.tableau} n=${r.n}\r`),
        });
        process.stdout.write(
          opts.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatAdjointBenchTable(rows)}\n`,
        );
      }),
    );
}
