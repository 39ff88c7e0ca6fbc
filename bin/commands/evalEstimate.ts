import * as path from 'path';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES } from '../../lib/backend';
import {
  estimateEvaluationCsv,
  estimateEvaluationMarkdown,
  estimateEvaluationTable,
} from '../../lib/eval/estimateReport';
import { evaluateEstimates } from '../../lib/eval/estimateEvaluation';
import { estimatePlot } from '../../lib/eval/estimatePlot';
import { TABLEAUS } from '../../lib/ode/tableaus';
import { OutputFile, checkOutputFolder, writeFilesTogether } from '../../lib/io/outputFiles';
import { guarded } from '../cliErrors';
import { loadPipelineFromFlags } from '../modelFlags';
import { addGenerationFlags, generationOptionsOf } from '../generationFlags';
import { parseChoiceList, parseInteger, parseIntegerList } from '../optionParsers';
import { StepProgress } from '../progressBar';

export function evalEstimateCommand(): Command {
  const command = new Command('estimate')
    .description(
      'claim (a): how close the n-step clean estimate is to a fine solve, and how its guidance gradient points, on samples from the model itself',
    )
    .option('--model <dir>', 'a converted model (default: the embedded digit model)')
    .option('--clip <dir>', "a 'sag convert clip' directory (style, clip losses)")
    .option(
      '--classifier <dir>',
      'an image classifier directory (class loss; default for the embedded model)',
    )
    .option(
      '--timesteps <list>',
      'timesteps of the estimate',
      parseIntegerList('--timesteps', 1),
      [300, 500, 700, 900],
    )
    .option('--n-list <list>', 'estimate steps to compare', parseIntegerList('--n-list', 1), [1, 2, 4, 8])
    .option(
      '--tableaus <list>',
      `sub-solvers to compare (${Object.keys(TABLEAUS).join(', ')})`,
      parseChoiceList('--tableaus', Object.keys(TABLEAUS)),
      ['euler'],
    )
    .option(
      '--reference-steps <n>',
      'RK4 steps of the reference solve',
      parseInteger('--reference-steps', 2, 200),
      12,
    )
    .option('--samples <count>', 'samples per timestep (whole batches)', parseInteger('--samples', 1), 32)
    .option('--batch <count>', 'batch size', parseInteger('--batch', 1, 256), 16)
    .option('--eval-seed <seed>', 'seed of the samples and their noise', parseInteger('--eval-seed', 0), 0)
    .option(
      '--out-dir <dir>',
      'also write estimate.json, estimate.csv, estimate.md and the plot estimate.svg there',
    )
    .option('--progress', 'print a progress line at least every 2 s even when stderr is not a terminal')
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    );
  return addGenerationFlags(command, {
    only: [
      'guidance',
      'target',
      'style',
      'ref',
      'prompt',
      'negativePrompt',
      'cfg',
      'steps',
      'size',
      'styleLayer',
    ],
  })
    .addHelpText(
      'after',
      `
Examples:
  sag eval estimate --guidance class --target 7
  sag eval estimate --guidance class --target 3 --tableaus euler,rk4 --n-list 1,2,4 --samples 64 --out-dir eval`,
    )
    .action(
      guarded(async (flags) => {
        const generation = generationOptionsOf(flags);
        if (!generation.guidance && !flags.model) {
          generation.guidance = ['class'];
          generation.target ??= '7';
        }
        if (flags.outDir) checkOutputFolder('--out-dir', flags.outDir);
        const pipeline = await loadPipelineFromFlags(flags);
        const progress = new StepProgress('eval estimate', {
          evenWithoutTerminal: flags.progress ?? false,
          unit: 'batches',
        });
        try {
          const evaluation = await evaluateEstimates(pipeline, {
            timesteps: flags.timesteps,
            ns: flags.nList,
            tableaus: (flags.tableaus as string[]).map((name) => TABLEAUS[name]),
            referenceSteps: flags.referenceSteps,
            samples: flags.samples,
            batch: flags.batch,
            seed: flags.evalSeed,
            generation,
            onProgress: (done, total) => progress.update(done, total),
          });
          progress.stop();
          process.stdout.write(`${estimateEvaluationTable(evaluation)}\n`);
          if (flags.outDir) {
            const files: OutputFile[] = [
              {
                flag: '--out-dir',
                file: path.join(flags.outDir, 'estimate.json'),
                data: `${JSON.stringify(evaluation, null, 2)}\n`,
              },
              {
                flag: '--out-dir',
                file: path.join(flags.outDir, 'estimate.csv'),
                data: estimateEvaluationCsv(evaluation),
              },
              {
                flag: '--out-dir',
                file: path.join(flags.outDir, 'estimate.md'),
                data: estimateEvaluationMarkdown(evaluation),
              },
              {
                flag: '--out-dir',
                file: path.join(flags.outDir, 'estimate.svg'),
                data: await estimatePlot(evaluation),
              },
            ];
            writeFilesTogether(files);
            process.stderr.write(`wrote ${files.map((f) => f.file).join(', ')}\n`);
          }
        } finally {
          progress.stop();
          pipeline.dispose();
        }
      }),
    );
}
