import { Command, Option } from 'commander';
import { BACKEND_CHOICES, parseBackendChoice } from '../../lib/backend';
import { SOAK_CYCLE, formatSoakTable, runSoak, soakVerdict } from '../../lib/bench/soakBench';
import { Pipeline } from '../../lib/pipeline/pipeline';
import { RunFailedError } from '../../lib/runFailure';
import { guarded } from '../cliErrors';
import { parseInteger } from '../optionParsers';

/** RSS may grow this much from warm-up to the end (allocator noise) before the soak fails. */
const RSS_TOLERANCE = 1.05;

export function benchSoakCommand(): Command {
  return new Command('soak')
    .description(
      'many generations in one process on the embedded model (mixed methods, batch sizes and n): tensors, resident memory, open files and GPU memory after each; fails if any keeps growing after warm-up',
    )
    .option(
      '--generations <count>',
      'generations to run',
      parseInteger('--generations', 2 * SOAK_CYCLE, 100000),
      200,
    )
    .option('--every <k>', 'print every k-th generation', parseInteger('--every', 1), 20)
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .action(
      guarded(async (flags: { generations: number; every: number; backend: string }) => {
        const pipeline = await Pipeline.load({ backend: parseBackendChoice(flags.backend) });
        try {
          const samples = await runSoak(pipeline, flags.generations, (s) => {
            if ((s.index + 1) % flags.every === 0)
              process.stderr.write(
                `  soak ${s.index + 1}/${flags.generations}: ${s.tensors} tensors, RSS ${s.rssMiB.toFixed(1)} MiB\n`,
              );
          });
          process.stdout.write(`${formatSoakTable(samples, flags.every)}\n`);
          const v = soakVerdict(samples);
          const lines = [
            `tensors after each generation from warm-up on: ${v.tensorsStable ? 'constant' : 'CHANGING'}`,
            `open files: ${v.fdsStable ? 'constant' : 'CHANGING'}`,
            `RSS, end of run against after warm-up: ${v.rssGrowth.toFixed(3)}x (limit ${RSS_TOLERANCE}x)`,
            ...(v.gpuStable === null ? [] : [`GPU memory: ${v.gpuStable ? 'constant' : 'CHANGING'}`]),
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
          if (!v.tensorsStable || !v.fdsStable || v.rssGrowth > RSS_TOLERANCE || v.gpuStable === false)
            throw new RunFailedError('soak: memory or handles kept growing after warm-up (see above)');
        } finally {
          pipeline.dispose();
        }
      }),
    );
}
