import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { GRADIENT_METHODS } from '../../lib/adjoint';
import { BACKEND_CHOICES, parseBackendChoice } from '../../lib/backend';
import { GUIDANCE_METHODS, GuidanceMethod, RHO_MODES } from '../../lib/guidance/guidanceSettings';
import { formatLoss } from '../../lib/io/formatLoss';
import { RecordedGeneration, formatParameters, parseParameters } from '../../lib/io/generationParameters';
import { readPngText, withPngText } from '../../lib/io/pngText';
import { imageGrid } from '../../lib/io/imageGrid';
import { encodeImage, imageFormatForPath } from '../../lib/io/imageFile';
import { OutputFile, checkOutputPath, writeFilesTogether } from '../../lib/io/outputFiles';
import { runReportJson } from '../../lib/io/runReport';
import { ESTIMATE_GRIDS } from '../../lib/ode/estimateGrid';
import { TABLEAUS } from '../../lib/ode/tableaus';
import {
  DEFAULT_GENERATE_OPTIONS,
  GenerateOptions,
  LOSS_KINDS,
  LossKind,
  STYLE_PRESET,
  styleWindowFor,
} from '../../lib/pipeline/generateOptions';
import { GenerateResult, Pipeline, PipelineOptions } from '../../lib/pipeline/pipeline';
import { SAMPLER_NAMES } from '../../lib/samplers';
import { packageVersion } from '../../lib/packageRoot';
import { guarded } from '../cliErrors';
import { parseChoiceList, parseInteger } from '../optionParsers';
import { StepProgress } from '../progressBar';

function parseNumber(flag: string, min = -Infinity): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min)
      throw new Error(`${flag}: expected a number >= ${min}, got '${v}'`);
    return n;
  };
}

function parseSize(v: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/.exec(v.trim());
  if (!m) throw new Error(`--size: expected N or HxW (pixels), got '${v}'`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

function parseLossWeights(v: string): Partial<Record<LossKind, number>> {
  const out: Partial<Record<LossKind, number>> = {};
  for (const part of v.split(',')) {
    const [k, w] = part.split('=');
    if (!(LOSS_KINDS as readonly string[]).includes(k) || !Number.isFinite(Number(w))) {
      throw new Error(
        `--loss-weights: expected kind=weight pairs (kinds: ${LOSS_KINDS.join(', ')}), got '${part}'`,
      );
    }
    out[k as LossKind] = Number(w);
  }
  return out;
}

/** Parsed flags: the model flags of PipelineOptions plus the generation flags (same names as GenerateOptions). */
interface CliOptions extends Omit<PipelineOptions, 'backend' | 'announceBackend'> {
  out: string;
  report?: string;
  upscale?: number;
  from?: string;
  progress?: boolean;
  compare?: GuidanceMethod[];
  backend: string;
  prompt?: string;
  negativePrompt?: string;
  guidance?: LossKind[];
  lossWeights?: Partial<Record<LossKind, number>>;
  method?: GuidanceMethod;
  n?: string;
  tableau?: string;
  grad?: GenerateOptions['grad'];
  grid?: GenerateOptions['grid'];
  sampler?: GenerateOptions['sampler'];
  steps?: number;
  cfg?: number;
  window?: string;
  repeats?: number;
  rhoMode?: GenerateOptions['rhoMode'];
  rhoScale?: number;
  rhoMax?: number;
  seed?: number;
  num?: number;
  size?: [number, number];
  initImage?: string;
  strength?: number;
  style?: string;
  ref?: string[];
  target?: string;
  styleLayer?: number;
}

/** The flags shared by `generate` and `stylize` (same names as GenerateOptions). */
function addGenerationOptions(command: Command): Command {
  // Defaults are shown in the descriptions, not set on the options: a value left unset can still come from the
  // command's preset or the model's sag.json.
  const D = DEFAULT_GENERATE_OPTIONS;
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
    .option('--prompt <text>', 'prompt (latent models)')
    .option('--negative-prompt <text>', 'negative prompt (the unconditional branch of CFG)')
    .option('--loss-weights <pairs>', 'weights of combined losses, e.g. style=1,clip=0.1', parseLossWeights)
    .addOption(
      new Option('--method <method>', `guidance method (default: ${D.method})`).choices([
        ...GUIDANCE_METHODS,
      ]),
    )
    .option(
      '--n <n>',
      `estimate steps per guided step, or an adaptive schedule 'from:to' (e.g. 6:1) (default: ${D.n})`,
    )
    .addOption(
      new Option('--tableau <name>', `sub-solver of the estimate (default: ${D.tableau})`).choices(
        Object.keys(TABLEAUS),
      ),
    )
    .addOption(
      new Option('--grad <method>', `gradient through the estimate (default: ${D.grad})`).choices([
        ...GRADIENT_METHODS,
      ]),
    )
    .addOption(
      new Option('--grid <kind>', "estimate grid: the paper's, or the released code's").choices([
        ...ESTIMATE_GRIDS,
      ]),
    )
    .addOption(
      new Option('--sampler <name>', `main sampler (default: ${D.sampler})`).choices([...SAMPLER_NAMES]),
    )
    .option(
      '--steps <T>',
      `main sampler steps (default: ${D.steps}; stylize: 100)`,
      parseInteger('--steps', 1, 1000),
    )
    .option(
      '--cfg <w>',
      `classifier-free guidance scale (default: ${D.cfg}; latent models only)`,
      parseNumber('--cfg', 0),
    )
    .option(
      '--window <range>',
      `guided main steps: 'start..end', 'all' or 'none' (default: ${D.window}; stylize: 30..69 of 100, scaled to --steps)`,
    )
    .option(
      '--repeats <r>',
      `time-travel repeats inside the window (default: ${D.repeats}; stylize: 2)`,
      parseInteger('--repeats', 1, 100),
    )
    .addOption(new Option('--rho-mode <mode>', 'guidance step size rule').choices([...RHO_MODES]))
    .option(
      '--rho-scale <s>',
      `guidance strength (rms mode: relative to the CFG / eps magnitude) (default: ${D.rhoScale}, or the model's recommendation: 0.05 for the embedded model)`,
      parseNumber('--rho-scale', 0),
    )
    .option(
      '--rho-max <r>',
      `upper bound of rho: when the loss is satisfied g vanishes and the normalised rho would grow without bound (default: ${D.rhoMax})`,
      parseNumber('--rho-max', 0),
    )
    .option('--seed <seed>', `seed of all random draws (default: ${D.seed})`, parseInteger('--seed', 0))
    .option('--num <count>', `images per run (batch) (default: ${D.num})`, parseInteger('--num', 1, 256))
    .option('--size <HxW>', 'image size in pixels', parseSize)
    .option('--init-image <file>', 'start from this image (img2img)')
    .option('--strength <s>', 'img2img: fraction of the schedule to run (0..1]', parseNumber('--strength', 0))
    .option('--style <image>', 'style reference image')
    .option('--ref <image...>', 'reference image(s): object loss, or the face for face ID')
    .option(
      '--target <value>',
      'text for the clip loss (default: the prompt) or class index for class guidance',
    )
    .option('--style-layer <k>', 'CLIP hidden state of the style loss', parseInteger('--style-layer', 0));
}

function toGenerateOptions(
  opts: CliOptions,
  preset: Partial<GenerateOptions>,
  guidanceFlag: LossKind[] | undefined,
): Partial<GenerateOptions> {
  const picked: Partial<GenerateOptions> = {};
  const keys: (keyof GenerateOptions)[] = [
    'prompt',
    'negativePrompt',
    'lossWeights',
    'method',
    'n',
    'tableau',
    'grad',
    'grid',
    'sampler',
    'steps',
    'cfg',
    'window',
    'repeats',
    'rhoMode',
    'rhoScale',
    'rhoMax',
    'seed',
    'num',
    'size',
    'initImage',
    'strength',
    'style',
    'ref',
    'target',
    'styleLayer',
  ];
  for (const k of keys)
    if (opts[k as keyof CliOptions] !== undefined)
      (picked as Record<string, unknown>)[k] = opts[k as keyof CliOptions];
  if (guidanceFlag) picked.guidance = guidanceFlag;
  return { ...preset, ...picked };
}

/** Images [N, H, W, C] enlarged k times by pixel repetition; a new tensor (the caller disposes both). */
function upscaled(images: tf.Tensor4D, k: number): tf.Tensor4D {
  const [, h, w] = images.shape;
  return k === 1 ? images.clone() : tf.image.resizeNearestNeighbor(images, [h * k, w * k]);
}

/** Where each effective generation setting came from: a flag, the command's preset, the model's sag.json, or sag's default. */
function settingSources(
  opts: CliOptions,
  preset: Partial<GenerateOptions>,
  modelDefaults: Partial<GenerateOptions>,
): Record<string, 'flag' | 'preset' | 'model sag.json' | 'default'> {
  return Object.fromEntries(
    (Object.keys(DEFAULT_GENERATE_OPTIONS) as (keyof GenerateOptions)[]).map((k) => [
      k,
      (opts as unknown as Record<string, unknown>)[k] !== undefined
        ? 'flag'
        : preset[k] !== undefined
          ? 'preset'
          : modelDefaults[k] !== undefined
            ? 'model sag.json'
            : 'default',
    ]),
  );
}

function caption(method: string, result: GenerateResult, b: number): string {
  const loss = result.finalLosses[b];
  return loss === undefined ? method : `${method} ${formatLoss(loss)}`;
}

/** The settings recorded in a sag PNG, under the flags given on the command line (which win). */
function withRecordedSettings(opts: CliOptions): { opts: CliOptions; recorded: RecordedGeneration | null } {
  if (!opts.from) return { opts, recorded: null };
  const recorded = parseParameters(readPngText(readImageBytes(opts.from)).parameters ?? '');
  if (!recorded)
    throw new Error(
      `--from ${opts.from}: no sag settings in this image (only PNGs written by sag carry them)`,
    );
  const merged: Record<string, unknown> = { ...opts };
  const fill = (values: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(values))
      if (merged[k] === undefined && v !== undefined) merged[k] = v;
  };
  fill(recorded.options as unknown as Record<string, unknown>);
  fill(recorded.models);
  fill({ compare: recorded.compare, upscale: recorded.upscale });
  return { opts: merged as unknown as CliOptions, recorded };
}

function readImageBytes(file: string): Buffer {
  if (!fs.existsSync(file)) throw new Error(`--from ${file}: file not found`);
  return fs.readFileSync(file);
}

async function runGenerate(
  givenOpts: CliOptions,
  preset: Partial<GenerateOptions>,
  label: string,
): Promise<void> {
  const { opts, recorded } = withRecordedSettings(givenOpts);
  const upscale = opts.upscale ?? 1;
  // Before any model loads: a run must not fail at its end because of where it writes.
  checkOutputPath('--out', opts.out, ['.png', '.jpg', '.jpeg']);
  if (opts.report) checkOutputPath('--report', opts.report, ['.json']);
  const models = {
    model: opts.model,
    clip: opts.clip,
    arcface: opts.arcface,
    aestheticHead: opts.aestheticHead,
    pickscore: opts.pickscore,
    hps: opts.hps,
    classifier: opts.classifier,
  };
  const pipeline = await Pipeline.load({ ...models, backend: parseBackendChoice(opts.backend) });
  if (recorded && recorded.backend !== pipeline.backend.name)
    process.stderr.write(
      `warning: ${opts.from} was made on ${recorded.backend}, this run is on ${pipeline.backend.name}: the bytes may differ\n`,
    );
  try {
    // A preset's CFG scale means nothing for a model without classifier-free guidance: do not record it there.
    const { cfg: presetCfg, ...presetWithoutCfg } = preset;
    const base = toGenerateOptions(
      opts,
      pipeline.pixel ? presetWithoutCfg : { ...presetWithoutCfg, cfg: presetCfg },
      opts.guidance,
    );
    const methods: GuidanceMethod[] = opts.compare ?? [base.method ?? DEFAULT_GENERATE_OPTIONS.method];
    const results: { method: GuidanceMethod; result: GenerateResult }[] = [];
    // --compare runs generate once per method: say each warning once.
    const warned = new Set<string>();
    const warnOnce = (message: string) => {
      if (warned.has(message)) return;
      warned.add(message);
      process.stderr.write(`warning: ${message}\n`);
    };
    for (const method of methods) {
      const progress = new StepProgress(methods.length > 1 ? `${label} ${method}` : label, {
        evenWithoutTerminal: opts.progress ?? false,
      });
      try {
        const result = await pipeline.generate(
          { ...base, method },
          { onStep: (_r, done, total) => progress.update(done, total), onWarning: warnOnce },
        );
        results.push({ method, result });
      } finally {
        progress.stop();
      }
    }
    const cells = results.flatMap(({ method, result }) =>
      tf
        .tidy(() => tf.unstack(upscaled(result.images, upscale)))
        .map((image, b) => ({
          image: image as tf.Tensor3D,
          caption: methods.length > 1 || result.finalLosses.length ? caption(method, result, b) : undefined,
        })),
    );
    const num = results[0].result.images.shape[0];
    const single = cells.length === 1 && methods.length === 1;
    // --compare: one row per image, one column per method.
    const ordered =
      methods.length > 1
        ? Array.from({ length: num }, (_, b) => methods.map((_, m) => cells[m * num + b])).flat()
        : cells;
    const output = single
      ? (cells[0].image as tf.Tensor3D)
      : await imageGrid(ordered, methods.length > 1 ? methods.length : Math.ceil(Math.sqrt(cells.length)));
    const format = imageFormatForPath(opts.out);
    let image = await encodeImage(output, format);
    if (format === 'png') {
      const parameters = formatParameters({
        command: label,
        sagVersion: packageVersion(),
        backend: pipeline.backend.name,
        models,
        options: results[0].result.options,
        compare: opts.compare,
        upscale,
      });
      image = withPngText(image, 'parameters', parameters);
    }
    const outputs: OutputFile[] = [{ flag: '--out', file: opts.out, data: image }];
    if (opts.report) {
      outputs.push({
        flag: '--report',
        file: opts.report,
        data: runReportJson({
          tool: 'sag',
          sagVersion: packageVersion(),
          createdAt: new Date().toISOString(),
          argv: process.argv.slice(2),
          command: label,
          output: path.resolve(opts.out),
          backend: pipeline.backend.description,
          models: {
            model: opts.model ?? 'embedded digit-unet',
            clip: opts.clip ?? null,
            arcface: opts.arcface ?? null,
            classifier: opts.classifier ?? (pipeline.pixel ? 'embedded digit-classifier' : null),
          },
          settingSources: settingSources(opts, base, pipeline.modelDefaults),
          runs: results.map(({ method, result }) => ({
            method,
            options: result.options,
            seed: result.options.seed,
            finalLosses: result.finalLosses,
            steps: result.records,
            timingsMs: result.timings,
            memory: result.memory,
          })),
          upscale,
        }),
      });
    }
    writeFilesTogether(outputs);
    for (const { method, result } of results) {
      const losses = result.finalLosses.length
        ? ` final loss ${result.finalLosses.map(formatLoss).join(', ')}`
        : '';
      const t = result.timings;
      const split = t['sampling: guidance']
        ? ` (model ${(t['sampling: model'] / 1000).toFixed(1)} s, guidance ${(t['sampling: guidance'] / 1000).toFixed(1)} s)`
        : '';
      process.stderr.write(`${method}: ${(t.sampling / 1000).toFixed(1)} s sampling${split}${losses}\n`);
    }
    process.stderr.write(`wrote ${opts.out}${opts.report ? ` and ${opts.report}` : ''}\n`);
    tf.dispose([...results.map((r) => r.result.images), ...cells.map((c) => c.image)]);
    if (!single) output.dispose();
  } finally {
    pipeline.dispose();
  }
}

export function generateCommand(): Command {
  return addGenerationOptions(
    new Command('generate')
      .description(
        'generate images, guided by one or more losses (default model: the embedded digit diffusion model)',
      )
      .option(
        '--guidance <kinds>',
        `losses that guide the run: ${LOSS_KINDS.join(', ')} (comma-separated); omit for unguided`,
        parseChoiceList('--guidance', LOSS_KINDS),
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
    .action(guarded(async (opts: CliOptions) => runGenerate(opts, {}, 'generate')));
}

export function stylizeCommand(): Command {
  return addGenerationOptions(
    new Command('stylize').description(
      'style guidance with the released setup: DPM-Solver++ 2M, 100 steps, window 30..69, 2 repeats, n = 4 (released grid), CFG 7.5',
    ),
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
      guarded(async (opts: CliOptions) => {
        if (!opts.style) throw new Error('--style <image> is required');
        // The preset's window is 30..69 of 100 steps: it follows --steps unless --window is given.
        const steps = opts.steps ?? (STYLE_PRESET.steps as number);
        await runGenerate(opts, { ...STYLE_PRESET, window: styleWindowFor(steps) }, 'stylize');
      }),
    );
}
