import { Command, Option } from 'commander';
import { convertClip } from '../../converters/clip/convertClip';
import { convertArcface } from '../../converters/onnx/convertArcface';
import * as fs from 'fs';
import {
  convertStableDiffusion,
  convertStableDiffusionSource,
} from '../../converters/sd/convertStableDiffusion';
import { convertControlNet } from '../../converters/sd/convertControlNet';
import { convertVae } from '../../converters/sd/convertVae';
import { PredictionType } from '../../converters/sd/singleFile/ldmConfigs';
import { singleFileSource } from '../../converters/sd/singleFile/singleFileSource';
import { BACKEND_CHOICES, parseBackendChoice, startBackend } from '../../lib/backend';
import { checkOutputDirectory } from '../../lib/io/outputDirectory';
import { guarded } from '../cliErrors';
import { fusedOpsOfFlag, withFusedOpsFlags } from '../fusedOpsFlags';
import { FusedOpChoice } from '../../converters/graph/fusedOps';
import { parseIntegerList } from '../optionParsers';

interface CommonOptions {
  out: string;
  dtype: 'float32' | 'float16';
  overwrite?: boolean;
  verbose?: boolean;
  /** Only on converters that write VJP graphs. */
  vjpGraph?: boolean;
  /** Only on converters of networks with GroupNorm or attention. */
  fusedOps?: FusedOpChoice | false;
  backend?: string;
}

function withCommonOptions(command: Command): Command {
  return command
    .requiredOption('--out <dir>', 'output directory (written atomically)')
    .addOption(
      new Option('--dtype <dtype>', 'storage of float weights')
        .choices(['float32', 'float16'])
        .default('float32'),
    )
    .option(
      '--overwrite',
      'replace an output directory that sag wrote (never a folder holding anything else)',
    )
    .option('--verbose', 'print an op histogram per graph');
}

/** The flags of converters that write VJP graphs. */
function withVjpGraphOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--backend <name>',
        'backend that runs the model to find its shapes for the VJP graph (models with more than 1.5 GB of weights are probed on cpu when this is wasm)',
      )
        .choices([...BACKEND_CHOICES])
        .default('wasm'),
    )
    .option(
      '--no-vjp-graph',
      'do not write VJP graphs (guidance then differentiates these networks with tf.grad: same values, more memory)',
    );
}

interface SingleFileFlags {
  config?: string;
  tokenizer?: string;
  predictionType?: PredictionType;
  ema?: boolean;
  vae?: string;
}

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function conversionOptions(opts: CommonOptions) {
  checkOutputDirectory('--out', opts.out, opts.overwrite ?? false);
  if (opts.vjpGraph) await startBackend(parseBackendChoice(opts.backend ?? 'wasm'), { announce: false });
  return {
    dtype: opts.dtype,
    overwrite: opts.overwrite,
    verbose: opts.verbose,
    vjpGraphs: opts.vjpGraph,
    fusedOps: fusedOpsOfFlag(opts.fusedOps),
    log,
  };
}

export function convertCommand(): Command {
  const convert = new Command('convert').description(
    'convert downloaded checkpoints to TensorFlow.js graph models',
  );
  convert.addCommand(
    withVjpGraphOptions(
      withCommonOptions(
        new Command('sd')
          .description(
            'a Stable Diffusion v1.x/v2.x diffusers directory or single-file checkpoint (.safetensors, .ckpt) -> unet/, vae_decoder/, vae_encoder/, text_encoder/',
          )
          .argument(
            '<source>',
            'a diffusers directory (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/) or a single-file checkpoint in the original LDM layout',
          )
          .option(
            '--config <diffusers-dir>',
            'single file: take the configs, tokenizer and scheduler from this diffusers directory instead of inferring SD v1/v2 ones',
          )
          .option(
            '--tokenizer <dir>',
            'single file: the CLIP tokenizer (a folder with vocab.json and merges.txt)',
          )
          .addOption(
            new Option(
              '--prediction-type <type>',
              'single file: what the UNet predicts (default: epsilon for SD v1, v_prediction for SD v2)',
            ).choices(['epsilon', 'v_prediction']),
          )
          .option('--ema', "single file: use the UNet's EMA weights (model_ema.*)")
          .option(
            '--vae <file-or-dir>',
            "single file: a VAE to use instead of the checkpoint's (a VAE-only file or a diffusers vae/ folder)",
          ),
      ),
    ).action(
      guarded(async (sourcePath: string, opts: CommonOptions & SingleFileFlags) => {
        const start = performance.now();
        const options = await conversionOptions(opts);
        if (fs.existsSync(sourcePath) && fs.statSync(sourcePath).isDirectory()) {
          const misplaced = (['config', 'tokenizer', 'predictionType', 'ema', 'vae'] as const).find(
            (key) => opts[key] !== undefined,
          );
          if (misplaced) {
            throw new Error(
              `${flagName(misplaced)}: only for single-file checkpoints; ${sourcePath} is a diffusers directory`,
            );
          }
          await convertStableDiffusion(sourcePath, opts.out, options);
        } else {
          const source = await singleFileSource(sourcePath, {
            configDir: opts.config,
            tokenizerDir: opts.tokenizer,
            predictionType: opts.predictionType,
            ema: opts.ema,
            vae: opts.vae,
            log,
          });
          const scheduler = source.configs.scheduler.raw;
          const unet = source.configs.unet.raw;
          log(
            `single-file ${source.kind === 'sd-v2' ? 'SD v2.x' : 'SD v1.x'} checkpoint: UNet blocks [${String(unet.block_out_channels)}], ${String(scheduler.prediction_type ?? 'epsilon')} prediction, ${8 * Number(unet.sample_size)} px; configs ${opts.config ? `from ${opts.config}` : 'read from the tensors'}; tokenizer ${source.tokenizerDir}`,
          );
          await convertStableDiffusionSource(source, opts.out, options);
        }
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withVjpGraphOptions(
      withCommonOptions(
        new Command('vae')
          .description(
            "a VAE alone (a VAE-only .safetensors/.ckpt with LDM or diffusers names, or a diffusers vae/ folder) -> vae_decoder/, vae_encoder/; use it with generate's --vae",
          )
          .argument('<source>', 'a VAE-only checkpoint file or a diffusers vae/ folder')
          .option(
            '--config <file>',
            "a diffusers VAE config.json (default: the folder's, or SD's VAE sized from the tensors)",
          ),
      ),
    ).action(
      guarded(async (sourcePath: string, opts: CommonOptions & { config?: string }) => {
        const start = performance.now();
        await convertVae(sourcePath, opts.out, { ...(await conversionOptions(opts)), config: opts.config });
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withCommonOptions(
      new Command('controlnet')
        .description(
          "a diffusers ControlNetModel directory (config.json, diffusion_pytorch_model.safetensors) -> controlnet/; use it with generate's --controlnet and --control",
        )
        .argument('<controlnet-dir>', 'a diffusers ControlNetModel directory'),
    ).action(
      guarded(async (dir: string, opts: CommonOptions) => {
        const start = performance.now();
        await convertControlNet(dir, opts.out, await conversionOptions(opts));
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withVjpGraphOptions(
      withCommonOptions(
        new Command('clip')
          .description('a transformers CLIPModel directory -> clip_vision/, clip_text/')
          .argument('<clip-dir>', 'directory with config.json and model.safetensors (or pytorch_model.bin)')
          .option(
            '--hidden-states <list>',
            'vision hidden states to expose (default: all)',
            parseIntegerList('--hidden-states', 0),
          ),
      ),
    ).action(
      guarded(async (dir: string, opts: CommonOptions & { hiddenStates?: number[] }) => {
        const start = performance.now();
        await convertClip(dir, opts.out, {
          ...(await conversionOptions(opts)),
          hiddenStates: opts.hiddenStates,
        });
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  convert.addCommand(
    withVjpGraphOptions(
      withCommonOptions(
        new Command('arcface')
          .description('an insightface ArcFace ONNX model -> arcface/')
          .argument('<model.onnx>', 'ONNX file'),
      ),
    ).action(
      guarded(async (file: string, opts: CommonOptions) => {
        const start = performance.now();
        await convertArcface(file, opts.out, await conversionOptions(opts));
        log(`wrote ${opts.out} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
      }),
    ),
  );
  // The converters of networks with GroupNorm or attention.
  for (const command of convert.commands)
    if (['sd', 'vae', 'clip', 'controlnet'].includes(command.name()))
      withFusedOpsFlags(command, 'write the graphs');
  return convert;
}
