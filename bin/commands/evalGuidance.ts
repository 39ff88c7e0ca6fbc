import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES, parseBackendChoice, startBackend } from '../../lib/backend';
import {
  cellFiles,
  readGuidanceGrid,
  runGuidanceGrid,
  writeGridOverview,
} from '../../lib/eval/guidanceEvaluation';
import { GuidanceGridSpec, fileNameSafe, gridCells, targetName } from '../../lib/eval/guidanceGrid';
import { parseGuidanceMethods } from '../../lib/eval/guidanceMethodSpec';
import { guidancePlots } from '../../lib/eval/guidancePlots';
import {
  guidanceSummaryCsv,
  guidanceSummaryMarkdown,
  guidanceSummaryTable,
} from '../../lib/eval/guidanceReport';
import { summarizeGuidanceGrid } from '../../lib/eval/guidanceSummary';
import { loadRealFeatures } from '../../lib/eval/realFeatures';
import { OutputFile, checkOutputFolder, writeFilesTogether } from '../../lib/io/outputFiles';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { generateOptionsToJson } from '../../lib/options/optionsJson';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { ownSagCommand } from '../../lib/sagProcess';
import { guarded } from '../cliErrors';
import { loadPipelineFromFlags } from '../modelFlags';
import { addGenerationFlags, generationOptionsOf } from '../generationFlags';
import { parseInteger, parseIntegerList, parseNumberList, parseShard, parseTextList } from '../optionParsers';
import { StepProgress } from '../progressBar';
import { runShardWorkers, wasmThreadsPerWorker } from '../shardWorkers';

// UG's step changes eps, not the sample: the same scale moves the sample far less, so it gets its own range.
const EMBEDDED_METHODS = 'none,freedom,freedom:repeats=4,ug:strengths=0.01/0.04/0.16,sag:n=2,sag:n=4';
const EMBEDDED_STRENGTHS = [0.001, 0.002, 0.004, 0.008, 0.016];
const EMBEDDED_TARGETS = ['0', '4', '7'];

/** The command line of a worker: this one without the options only the parent acts on. */
function workerArguments(argv: string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--restart' || arg.startsWith('--workers=')) continue;
    if (arg === '--workers') {
      i++;
      continue;
    }
    args.push(arg);
  }
  return args;
}

export function evalGuidanceCommand(): Command {
  const command = new Command('guidance')
    .description(
      'claims (b)-(d): a grid of guidance methods x strengths x targets x seeds, judged by an independent evaluator, with tables, plots and sample grids',
    )
    .option('--model <dir>', 'a converted model (default: the embedded digit model)')
    .option('--clip <dir>', "a 'sag convert clip' directory (style, clip losses)")
    .option(
      '--classifier <dir>',
      'the image classifier that guides (class loss; default for the embedded model)',
    )
    .option(
      '--evaluator <dir>',
      'an image classifier that judges the samples and never guides (default for the embedded model: digit-evaluator)',
    )
    .option(
      '--methods <list>',
      "methods to compare, each 'method[:setting=value...]' with settings n, tableau, grad, grid, repeats, and strengths=a/b/... (its own)",
      EMBEDDED_METHODS,
    )
    .option(
      '--strengths <list>',
      `guidance strengths (rho scale) (default for the embedded model: ${EMBEDDED_STRENGTHS.join(',')})`,
      parseNumberList('--strengths'),
    )
    .option(
      '--targets <list>',
      `class indices (class guidance) or texts (clip) to steer towards (default for the embedded model: ${EMBEDDED_TARGETS.join(',')})`,
      parseTextList('--targets'),
    )
    .option(
      '--styles <list>',
      'style reference images to steer towards (style guidance)',
      parseTextList('--styles'),
    )
    .addOption(
      new Option('--seeds <list>', 'seeds of each cell')
        .argParser(parseIntegerList('--seeds', 0))
        .default([0, 1], '0,1'),
    )
    .option('--num <count>', 'images per cell (one batch)', parseInteger('--num', 1, 256), 8)
    .option(
      '--out-dir <dir>',
      'where the cells, tables, plots and grids go (a rerun resumes there)',
      'eval-guidance',
    )
    .option('--restart', 'discard the finished cells of --out-dir instead of resuming')
    .option(
      '--workers <count>',
      'processes that run cells in parallel (wasm threads are shared out between them)',
      parseInteger('--workers', 1, 64),
      1,
    )
    .addOption(
      new Option('--shard <i/count>', 'run every count-th cell from i (a worker)')
        .argParser(parseShard)
        .hideHelp(),
    )
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    );
  return addGenerationFlags(command, {
    only: [
      'guidance',
      'lossWeights',
      'prompt',
      'negativePrompt',
      'cfg',
      'steps',
      'sampler',
      'window',
      'rhoMode',
      'rhoMax',
      'size',
      'styleLayer',
    ],
  })
    .addHelpText(
      'after',
      `
Examples:
  sag eval guidance                                       # the embedded digits: class guidance towards 0, 4, 7
  sag eval guidance --methods freedom:repeats=4,sag:n=4 --strengths 0.002 --targets 7 --num 16
  sag eval guidance --guidance style --styles a.png,b.png --methods none,freedom,sag:n=4 --strengths 0.01,0.05
A rerun with the same --out-dir resumes: finished cells are kept.`,
    )
    .action(
      guarded(async (flags) => {
        const embedded = !flags.model;
        const methods = parseGuidanceMethods(flags.methods);
        if (flags.targets && flags.styles) throw new Error('--targets, --styles: give one of them, not both');
        const generation = generationOptionsOf(flags);
        if (!generation.guidance)
          generation.guidance = flags.styles ? ['style'] : embedded ? ['class'] : undefined;
        if (!generation.guidance)
          throw new Error('--guidance: name the loss to evaluate (e.g. style, clip, class)');
        const targets: string[] | undefined =
          flags.styles ??
          flags.targets ??
          (embedded && generation.guidance.includes('class') ? EMBEDDED_TARGETS : undefined);
        if (!targets) throw new Error('--targets / --styles: give what the guidance steers towards');
        for (const style of flags.styles ?? [])
          if (!fs.existsSync(style)) throw new Error(`--styles ${style}: file not found`);
        const strengths: number[] | undefined =
          flags.strengths ?? (embedded ? EMBEDDED_STRENGTHS : undefined);
        if (!strengths)
          throw new Error(
            '--strengths: give the guidance strengths to compare (rho scale, e.g. 0.1,0.2,0.4)',
          );
        const spec: GuidanceGridSpec = {
          methods,
          strengths,
          targets,
          targetOption: flags.styles ? 'style' : 'target',
          seeds: flags.seeds,
          num: flags.num,
          generation,
        };
        const cells = gridCells(spec);
        const evaluatorDir: string | null =
          flags.evaluator ?? (embedded ? embeddedModelDir('digit-evaluator') : null);
        const models = {
          model: flags.model ? path.resolve(flags.model) : 'embedded digit-unet',
          classifier: flags.classifier ? path.resolve(flags.classifier) : null,
          clip: flags.clip ? path.resolve(flags.clip) : null,
          evaluator: flags.evaluator
            ? path.resolve(flags.evaluator)
            : embedded
              ? 'embedded digit-evaluator'
              : null,
        };
        const outDir: string = flags.outDir;
        checkOutputFolder('--out-dir', outDir);
        // The cells' folder is made by the first cell written, so a run that fails before leaves nothing.
        if (flags.restart && !flags.shard)
          fs.rmSync(path.join(outDir, 'cells'), { recursive: true, force: true });

        const warnings = new Set<string>();
        const progress = new StepProgress('eval guidance', {
          evenWithoutTerminal: !flags.shard,
          unit: 'cells',
        });
        if (flags.workers > 1 && !flags.shard) {
          const threads = wasmThreadsPerWorker(flags.workers);
          process.stderr.write(
            `eval guidance: ${cells.length} cells in ${flags.workers} worker processes (wasm: ${threads} thread${threads > 1 ? 's' : ''} each)\n`,
          );
          await runShardWorkers({
            command: ownSagCommand(),
            args: workerArguments(process.argv.slice(2)),
            workers: flags.workers,
            env: { SAG_WASM_THREADS: String(threads) },
            onPoll: () => {
              const done = cells.filter((c) => fs.existsSync(cellFiles(outDir, c).json)).length;
              progress.update(done, cells.length);
            },
          });
          progress.stop();
          // The tables and pictures below use tensors too.
          await startBackend(parseBackendChoice(flags.backend), { announce: false });
        } else {
          const pipeline = await loadPipelineFromFlags(flags, { announceBackend: !flags.shard });
          const evaluator = evaluatorDir ? await ImageClassifier.load(evaluatorDir) : null;
          try {
            await runGuidanceGrid(pipeline, evaluator, spec, {
              outDir,
              models,
              shard: flags.shard,
              onCell: (done, total) => progress.update(done, total),
              onWarning: (message) => warnings.add(message),
            });
          } finally {
            progress.stop();
            evaluator?.dispose();
            pipeline.dispose();
          }
          if (flags.shard) return;
        }
        for (const message of warnings) process.stderr.write(`warning: ${message}\n`);

        const results = readGuidanceGrid(spec, outDir, models);
        const real = evaluatorDir ? loadRealFeatures(evaluatorDir) : null;
        const summary = summarizeGuidanceGrid(results, real);
        const context =
          `${embedded ? 'The embedded digit model' : `--model ${flags.model}`}, guidance ${generation.guidance.join('+')}, ` +
          `${spec.num} images per cell, seeds ${spec.seeds.join(', ')}, ` +
          `${generation.steps ?? 'default'} sampling steps.`;
        const { plots, skipped } = await guidancePlots(summary);
        if (skipped.length) process.stderr.write(`eval guidance: no plot ${skipped.join(', no plot ')}\n`);
        const files: OutputFile[] = [
          {
            flag: '--out-dir',
            file: path.join(outDir, 'guidance.json'),
            data: `${JSON.stringify(
              {
                grid: { ...spec, methods: spec.methods.map((m) => m.label), generation: undefined },
                generation: generateOptionsToJson(generation),
                models,
                rows: summary,
              },
              null,
              2,
            )}\n`,
          },
          { flag: '--out-dir', file: path.join(outDir, 'guidance.csv'), data: guidanceSummaryCsv(summary) },
          {
            flag: '--out-dir',
            file: path.join(outDir, 'guidance.md'),
            data: guidanceSummaryMarkdown(summary, context),
          },
          ...plots.map((plot) => ({ flag: '--out-dir', file: path.join(outDir, plot.file), data: plot.svg })),
        ];
        writeFilesTogether(files);
        const overviews: string[] = [];
        for (const target of spec.targets) {
          const name = targetName(spec, target);
          const file = path.join(outDir, `overview-${fileNameSafe(name)}.png`);
          await writeGridOverview(spec, outDir, name, spec.seeds[0], file);
          overviews.push(file);
        }
        process.stdout.write(`${guidanceSummaryTable(summary)}\n`);
        process.stderr.write(
          `wrote ${[...files.map((f) => f.file), ...overviews].join(', ')} and a sample grid per cell in ${path.join(outDir, 'cells')}\n`,
        );
      }),
    );
}
