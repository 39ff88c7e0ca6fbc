import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { BACKEND_CHOICES, parseBackendChoice } from '../../lib/backend';
import { GRAPH_EXECUTORS, GraphExecutor, setGraphExecutor } from '../../lib/recorded';
import { GUIDANCE_METHODS, GuidanceMethod } from '../../lib/guidance/guidanceSettings';
import { RecordedGeneration, formatParameters, parseParameters } from '../../lib/io/generationParameters';
import { encodeImage, imageFormatForPath } from '../../lib/io/imageFile';
import { OutputFile, checkOutputPath, writeFilesTogether } from '../../lib/io/outputFiles';
import { readPngTextChecked, withPngText } from '../../lib/io/pngText';
import {
  DEFAULT_GENERATE_OPTIONS,
  GENERATE_OPTION_NAMES,
  GenerateOptions,
} from '../../lib/options/generateOptions';
import { LOSS_KINDS } from '../../lib/options/lossOptions';
import { generateOptionsFromJson } from '../../lib/options/optionsJson';
import { STYLE_PRESET, styleWindowFor } from '../../lib/options/stylePreset';
import { packageVersion } from '../../lib/packageRoot';
import { Pipeline, PipelineOptions } from '../../lib/pipeline/pipeline';
import { guarded } from '../cliErrors';
import { addGenerationFlags, generationOptionsOf } from '../generationFlags';
import { MethodRun, composeOutputImage, generationReport, summaryLines } from '../generationOutputs';
import { parseChoiceList, parseInteger } from '../optionParsers';
import { StepProgress } from '../progressBar';

/** The model flags: the same names as PipelineOptions. */
type ModelFlags = Omit<PipelineOptions, 'backend' | 'announceBackend'>;
const MODEL_FLAGS: (keyof ModelFlags)[] = [
  'model',
  'vae',
  'controlnet',
  'clip',
  'arcface',
  'aestheticHead',
  'pickscore',
  'hps',
  'classifier',
];

/** Parsed flags: the command's own, the model flags, and the generation options (GENERATE_OPTION_SPECS). */
interface CliFlags extends ModelFlags, Partial<GenerateOptions> {
  out: string;
  report?: string;
  upscale?: number;
  from?: string;
  progress?: boolean;
  compare?: GuidanceMethod[];
  backend: string;
  executor: GraphExecutor;
}

type SettingSource = 'flag' | 'recorded (--from)' | 'preset' | 'model sag.json' | 'default';

/** The flags of `generate` and `stylize` that are not generation options. */
function addRunFlags(command: Command): Command {
  return command
    .requiredOption('--out <file>', 'output image (.png or .jpg); with --num > 1 or --compare, a grid')
    .option(
      '--upscale <k>',
      'enlarge the output images k times (nearest neighbour), e.g. for 32x32 digits',
      parseInteger('--upscale', 1, 16),
    )
    .option(
      '--from <image.png>',
      'rerun with the settings recorded in a PNG written by sag (flags given here win)',
    )
    .option(
      '--report <file>',
      'write a JSON run report (options, seed, backend, per-step loss and rho, timings, memory)',
    )
    .option('--progress', 'show progress even when stderr is not a terminal (one line every few seconds)')
    .option(
      '--compare <methods>',
      `run several guidance methods with the same seed and write a grid (${GUIDANCE_METHODS.join(', ')})`,
      parseChoiceList('--compare', GUIDANCE_METHODS),
    )
    .option('--model <dir>', "a 'sag convert sd' directory (default: the embedded digit model)")
    .option(
      '--vae <dir>',
      "a 'sag convert vae' directory: decode (and encode) with this VAE instead of the model's",
    )
    .option('--controlnet <dir>', "a 'sag convert controlnet' directory; --control gives its condition image")
    .option('--clip <dir>', "a 'sag convert clip' directory (style, clip, object, aesthetic losses)")
    .option('--arcface <dir>', "a 'sag convert arcface' directory (face loss)")
    .option(
      '--aesthetic-head <file>',
      'LAION aesthetic predictor, linear or MLP (.pth, .safetensors or .json), on --clip embeddings',
    )
    .option('--pickscore <dir>', "PickScore as a 'sag convert clip' directory")
    .option('--hps <dir>', "HPSv2 as a 'sag convert clip' directory")
    .option(
      '--classifier <dir>',
      'an image classifier directory (class guidance; default for the embedded model)',
    )
    .addOption(
      new Option('--backend <name>', 'compute backend').choices([...BACKEND_CHOICES]).default('auto'),
    )
    .addOption(
      new Option(
        '--executor <name>',
        'how converted graphs run on webgpu: recorded (recorded once per input shape, then replayed) or tfjs (every op issued by tfjs)',
      )
        .choices([...GRAPH_EXECUTORS])
        .default('recorded'),
    );
}

/** A sag PNG's recorded run, or null without --from. */
function recordedRun(
  flags: CliFlags,
): { recorded: RecordedGeneration; options: Partial<GenerateOptions> } | null {
  if (!flags.from) return null;
  if (!fs.existsSync(flags.from)) throw new Error(`--from ${flags.from}: file not found`);
  const recorded = parseParameters(
    readPngTextChecked(fs.readFileSync(flags.from), `--from ${flags.from}`).parameters ?? '',
  );
  if (!recorded)
    throw new Error(
      `--from ${flags.from}: no sag settings in this image (only PNGs written by sag carry them)`,
    );
  return { recorded, options: generateOptionsFromJson(recorded.options, `--from ${flags.from}`) };
}

/** What differs between the environment a --from record was made in and this run's: each may change the bytes. */
function environmentDifferences(
  recorded: RecordedGeneration,
  backend: { name: string; description: string },
  from: string,
): string[] {
  const made = recorded.environment;
  const differences: string[] = [];
  if (made ? made.backend !== backend.description : recorded.backend !== backend.name)
    differences.push(
      `${from} was made on ${made?.backend ?? recorded.backend}, this run is on ${backend.description}: the bytes may differ`,
    );
  if (made && made.tfjs !== tf.version_core)
    differences.push(
      `${from} was made with tfjs ${made.tfjs}, this run uses ${tf.version_core}: the bytes may differ`,
    );
  if (recorded.sagVersion !== packageVersion())
    differences.push(
      `${from} was made by sag ${recorded.sagVersion}, this is sag ${packageVersion()}: the bytes may differ`,
    );
  return differences;
}

/** The flags, with what a --from record holds filled in where no flag was given. */
function withRecordedFlags(flags: CliFlags, run: ReturnType<typeof recordedRun>): CliFlags {
  if (!run) return flags;
  const merged: Record<string, unknown> = { ...flags };
  const fill = (values: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(values))
      if (merged[k] === undefined && v !== undefined) merged[k] = v;
  };
  fill(run.recorded.models);
  fill({ compare: run.recorded.compare, upscale: run.recorded.upscale });
  return merged as unknown as CliFlags;
}

/** Where each effective generation setting came from. */
function settingSources(layers: [SettingSource, Partial<GenerateOptions>][]): Record<string, SettingSource> {
  return Object.fromEntries(
    GENERATE_OPTION_NAMES.map((k) => [
      k,
      layers.find(([, values]) => values[k] !== undefined)?.[0] ?? 'default',
    ]),
  );
}

/**
 * `generate` / `stylize`: 1. read flags (and a --from record), check the outputs can be written; 2. load the
 * models; 3. run each method; 4. compose the picture; 5. write the picture and report together; 6. summarise.
 */
async function runGenerate(
  givenFlags: CliFlags,
  commandPreset: Partial<GenerateOptions>,
  command: string,
): Promise<void> {
  const recorded = recordedRun(givenFlags);
  const flags = withRecordedFlags(givenFlags, recorded);
  const upscale = flags.upscale ?? 1;
  if (givenFlags.compare && givenFlags.method !== undefined)
    throw new Error(`--method ${givenFlags.method}: not with --compare, which names the methods to run`);
  // Before any model loads: a run must not fail at its end because of where it writes.
  checkOutputPath('--out', flags.out, ['.png', '.jpg', '.jpeg']);
  if (flags.report) checkOutputPath('--report', flags.report, ['.json']);
  const models = Object.fromEntries(MODEL_FLAGS.map((k) => [k, flags[k]])) as ModelFlags;
  setGraphExecutor(flags.executor);
  const pipeline = await Pipeline.load({ ...models, backend: parseBackendChoice(flags.backend) });
  if (recorded)
    for (const difference of environmentDifferences(
      recorded.recorded,
      pipeline.backend,
      flags.from as string,
    ))
      process.stderr.write(`warning: ${difference}\n`);
  try {
    // A preset's CFG scale means nothing for a model without classifier-free guidance: do not record it there.
    const preset = pipeline.pixel ? { ...commandPreset, cfg: undefined } : commandPreset;
    const fromFlags = generationOptionsOf(flags as unknown as Record<string, unknown>);
    const recordedOptions = recorded?.options ?? {};
    const options: Partial<GenerateOptions> = { ...preset, ...recordedOptions, ...fromFlags };
    const runs = await runMethods(pipeline, options, flags, command);
    const picture = await composeOutputImage(runs, upscale);
    try {
      const format = imageFormatForPath(flags.out);
      let image = await encodeImage(picture, format);
      if (format === 'png')
        image = withPngText(
          image,
          'parameters',
          formatParameters({
            command,
            sagVersion: packageVersion(),
            backend: pipeline.backend.name,
            models,
            options: runs[0].result.options,
            compare: flags.compare,
            upscale,
            environment: { backend: pipeline.backend.description, tfjs: tf.version_core },
          }),
        );
      const outputs: OutputFile[] = [{ flag: '--out', file: flags.out, data: image }];
      if (flags.report) {
        const report = generationReport(
          {
            command,
            out: flags.out,
            backendDescription: pipeline.backend.description,
            models: {
              model: flags.model ?? 'embedded digit-unet',
              vae: flags.vae ?? null,
              controlnet: flags.controlnet ?? null,
              clip: flags.clip ?? null,
              arcface: flags.arcface ?? null,
              classifier: flags.classifier ?? (pipeline.pixel ? 'embedded digit-classifier' : null),
            },
            settingSources: settingSources([
              ['flag', generationOptionsOf(givenFlags as unknown as Record<string, unknown>)],
              ['recorded (--from)', recordedOptions],
              ['preset', preset],
              ['model sag.json', pipeline.modelDefaults],
            ]),
            upscale,
          },
          runs,
        );
        outputs.push({ flag: '--report', file: flags.report, data: report });
      }
      writeFilesTogether(outputs);
    } finally {
      picture.dispose();
      tf.dispose(runs.map((r) => r.result.images));
    }
    for (const line of summaryLines(runs)) process.stderr.write(`${line}\n`);
    process.stderr.write(`wrote ${flags.out}${flags.report ? ` and ${flags.report}` : ''}\n`);
  } finally {
    pipeline.dispose();
  }
}

/** One generation per method (--compare: several, same seed), with a progress bar each. */
async function runMethods(
  pipeline: Pipeline,
  options: Partial<GenerateOptions>,
  flags: CliFlags,
  command: string,
): Promise<MethodRun[]> {
  const methods: GuidanceMethod[] = flags.compare ?? [
    options.method ?? pipeline.modelDefaults.method ?? DEFAULT_GENERATE_OPTIONS.method,
  ];
  // --compare runs generate once per method: say each warning once.
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (warned.has(message)) return;
    warned.add(message);
    process.stderr.write(`warning: ${message}\n`);
  };
  const runs: MethodRun[] = [];
  try {
    for (const method of methods) {
      const progress = new StepProgress(methods.length > 1 ? `${command} ${method}` : command, {
        evenWithoutTerminal: flags.progress ?? false,
      });
      try {
        const result = await pipeline.generate(
          { ...options, method },
          { onStep: (_r, done, total) => progress.update(done, total), onWarning: warnOnce },
        );
        runs.push({ method, result });
      } finally {
        progress.stop();
      }
    }
    return runs;
  } catch (e) {
    tf.dispose(runs.map((r) => r.result.images));
    throw e;
  }
}

export function generateCommand(): Command {
  return addGenerationFlags(
    addRunFlags(
      new Command('generate').description(
        `generate images, guided by one or more losses (${LOSS_KINDS.join(', ')}) (default model: the embedded digit diffusion model)`,
      ),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  sag generate --guidance class --target 7 --num 4 --upscale 4 --out sevens.png
  sag generate --guidance class --target 3 --compare sag,freedom,none --num 4 --out compare.png --report run.json
  sag generate --guidance style --style weights/examples/digit-style-0.png --n 6:1 --out styled.png
  sag generate --model models/sd15 --clip models/clip-b16 --guidance object --ref dog.jpg --prompt "a dog" --out dog.png`,
    )
    .action(guarded(async (flags: CliFlags) => runGenerate(flags, {}, 'generate')));
}

export function stylizeCommand(): Command {
  return addGenerationFlags(
    addRunFlags(
      new Command('stylize').description(
        'style guidance with the released setup: DPM-Solver++ 2M, 100 steps, window 30..69, 2 repeats, n = 4 (released grid), CFG 7.5',
      ),
    ),
    {
      omit: ['guidance'],
      preset: STYLE_PRESET,
      defaultNotes: { window: '30..69 of 100 steps, scaled to --steps' },
    },
  )
    .addHelpText(
      'after',
      `
Examples:
  sag stylize --style weights/examples/digit-style-8.png --steps 30 --upscale 4 --out styled.png
  sag stylize --model models/sd15 --clip models/clip-b16 --style painting.jpg --prompt "a cat" --out cat.png
  sag stylize --model models/sd15 --clip models/clip-b16 --style painting.jpg --prompt "a cat" --steps 50 --n 2 --out fast.png`,
    )
    .action(
      guarded(async (flags: CliFlags) => {
        if (!flags.style && !flags.from) throw new Error('--style <image> is required');
        // The preset's window is 30..69 of 100 steps: it follows --steps unless --window is given.
        const steps = flags.steps ?? (STYLE_PRESET.steps as number);
        await runGenerate(flags, { ...STYLE_PRESET, window: styleWindowFor(steps) }, 'stylize');
      }),
    );
}
