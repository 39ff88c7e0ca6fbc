import { Command, Option } from 'commander';
import {
  convertUnetMeasured,
  formatConvertBench,
  runConvertBench,
} from '../../converters/bench/convertBench';
import { guarded } from '../cliErrors';

export function benchConvertCommand(): Command {
  return new Command('convert')
    .description(
      'write a synthetic SD v1.5 UNet checkpoint (random weights), convert it, report time and peak RSS',
    )
    .addOption(
      new Option('--dtype <dtype>', 'storage of converted weights')
        .choices(['float32', 'float16'])
        .default('float32'),
    )
    .option('--keep', 'keep the synthetic checkpoint and the converted model')
    .option('--json', 'print the result as JSON')
    .action(
      guarded(async (opts: { dtype: 'float32' | 'float16'; keep?: boolean; json?: boolean }) => {
        const row = runConvertBench({
          cliPath: process.argv[1],
          dtype: opts.dtype,
          keep: opts.keep,
          log: (s) => process.stderr.write(`${s}\n`),
        });
        process.stdout.write(
          opts.json ? `${JSON.stringify(row, null, 2)}\n` : `${formatConvertBench(row)}\n`,
        );
      }),
    );
}

/** Hidden: the measured child process of `bench convert`. */
export function benchConvertChildCommand(): Command {
  return new Command('convert-child')
    .argument('<unet-dir>')
    .argument('<out-dir>')
    .addOption(new Option('--dtype <dtype>').choices(['float32', 'float16']).default('float32'))
    .action(
      guarded(async (unetDir: string, outDir: string, opts: { dtype: 'float32' | 'float16' }) => {
        process.stdout.write(
          `${JSON.stringify(await convertUnetMeasured(unetDir, outDir, { dtype: opts.dtype }))}\n`,
        );
      }),
    );
}
