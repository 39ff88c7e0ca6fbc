import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FRAME_MIX_INPUT } from '../../lib/models/frameMix';
import { appendVjpGraphOrWarn } from '../graph/vjp/appendVjpGraph';
import { parseSchedulerConfig } from '../../lib/schedule';
import { parseClipTextConfig } from '../clip/clipConfig';
import { clipTextGraph } from '../clip/clipGraph';
import { ConversionOptions } from '../conversionOptions';
import { WriteGraphModelOptions, WrittenGraphModel, writeGraphModel } from '../graph/writeGraphModel';
import { writeAtomically } from '../outputDirectory';
import { CheckpointWeights } from '../weights/weightSource';
import { StableDiffusionSource, diffusersDirectorySource } from './stableDiffusionSource';
import { UnetConfig, UnetGraph, parseUnetConfig, unetSkipChannels, unetSkipSides } from './unetGraph';
import { VaeConfig, VaeGraph, parseVaeConfig } from './vaeGraph';
import { ComponentShapes, SAG_MANIFEST_VERSION, StableDiffusionManifest } from '../../lib/models/sagManifest';
import { writeSagManifest } from '../../lib/models/sagManifestFile';

export const TOKENIZER_FILES = [
  'vocab.json',
  'merges.txt',
  'tokenizer_config.json',
  'special_tokens_map.json',
];

export interface ConvertedStableDiffusion {
  outDir: string;
  manifest: StableDiffusionManifest;
}

/** Converts a diffusers UNet directory (config already parsed) into one graph model directory. */
export async function writeUnetGraph(
  unetDir: string,
  outDir: string,
  unetConfig: UnetConfig,
  graphOptions: WriteGraphModelOptions,
): Promise<WrittenGraphModel> {
  const weights = await CheckpointWeights.openDirectory(unetDir, ['diffusion_pytorch_model', 'model']);
  return writeUnetGraphFrom(weights, outDir, unetConfig, graphOptions);
}

/** The UNet output with ControlNet residuals added (inputs down_residual_<i>, mid_residual). */
export const CONTROLLED_OUTPUT = 'out_controlled';

/**
 * Converts UNet weights under diffusers names into one graph model directory; closes the weights. Outputs `out`
 * and `out_controlled` (the same with ControlNet residuals added; see UnetGraph.buildWithResiduals).
 */
export function writeUnetGraphFrom(
  weights: CheckpointWeights,
  outDir: string,
  unetConfig: UnetConfig,
  graphOptions: WriteGraphModelOptions,
): WrittenGraphModel {
  try {
    return writeGraphModel(outDir, 'unet', weights, graphOptions, (nn) => {
      const sample = nn.g.input('sample', 'float32', [null, null, null, unetConfig.inChannels]);
      const timestep = nn.g.input('timestep', 'float32', [null]);
      const context = nn.g.input('encoder_hidden_states', 'float32', [
        null,
        null,
        unetConfig.crossAttentionDim,
      ]);
      const frameMix = nn.g.input(FRAME_MIX_INPUT, 'float32', [null, null]);
      const { out, controlled } = new UnetGraph(nn, unetConfig, frameMix).buildWithResiduals(
        sample,
        timestep,
        context,
        () => {
          const channels = unetSkipChannels(unetConfig);
          return {
            down: channels.map((c, i) => nn.g.input(`down_residual_${i}`, 'float32', [null, null, null, c])),
            mid: nn.g.input('mid_residual', 'float32', [null, null, null, channels[channels.length - 1]]),
          };
        },
      );
      nn.g.output('out', out);
      // Only computed when asked for (with the residual inputs): the plain output needs neither.
      nn.g.output(CONTROLLED_OUTPUT, controlled);
    });
  } finally {
    weights.close();
  }
}

/** The UNet's VJP graph w.r.t. the sample (shapes probed at two batch sizes and latent sizes). */
export async function appendUnetVjpGraph(
  unetOut: string,
  unetConfig: UnetConfig,
  textLength: number,
  log: (line: string) => void,
): Promise<void> {
  const side = 2 ** (unetConfig.blockOutChannels.length - 1);
  const probeSizes = [
    [2, 2 * side],
    [3, 3 * side],
  ];
  const inputs = (batch: number, size: number) => ({
    sample: tf.randomNormal([batch, size, size, unetConfig.inChannels]),
    timestep: tf.tensor1d([500]),
    encoder_hidden_states: tf.randomNormal([batch, textLength, unetConfig.crossAttentionDim]),
    [FRAME_MIX_INPUT]: tf.eye(batch),
  });
  await appendVjpGraphOrWarn(
    unetOut,
    'unet',
    { wrt: 'sample', outputs: ['out'], probes: () => probeSizes.map(([batch, size]) => inputs(batch, size)) },
    log,
  );
  // The output with ControlNet residuals: gradients for the sample and for every residual (which the ControlNet's
  // own VJP graph carries back to the sample).
  const channels = unetSkipChannels(unetConfig);
  const residualNames = [...channels.map((_, i) => `down_residual_${i}`), 'mid_residual'];
  await appendVjpGraphOrWarn(
    unetOut,
    'unet (with ControlNet residuals)',
    {
      wrt: 'sample',
      alsoWrt: residualNames,
      outputs: [CONTROLLED_OUTPUT],
      key: 'sagVjpControlled',
      probes: () =>
        probeSizes.map(([batch, size]) => {
          const sides = unetSkipSides(unetConfig, size);
          const residuals = [...channels, channels[channels.length - 1]].map((c, i) =>
            tf.randomNormal([batch, sides[i], sides[i], c]),
          );
          return {
            ...inputs(batch, size),
            ...Object.fromEntries(residualNames.map((n, i) => [n, residuals[i]])),
          };
        }),
    },
    log,
  );
}

/**
 * Writes vae_decoder/ (with its VJP graph unless `vjpGraph` is false) and vae_encoder/ into `dir` from VAE weights
 * under diffusers names; closes the weights.
 */
export async function writeVaeGraphs(
  vaeWeights: CheckpointWeights,
  dir: string,
  vaeConfig: VaeConfig,
  graphOptions: WriteGraphModelOptions,
  vjpGraph: boolean,
): Promise<void> {
  const log = graphOptions.log ?? (() => undefined);
  try {
    log('converting vae_decoder');
    writeGraphModel(path.join(dir, 'vae_decoder'), 'vae_decoder', vaeWeights, graphOptions, (nn) => {
      const latent = nn.g.input('latent', 'float32', [null, null, null, vaeConfig.latentChannels]);
      nn.g.output('image', new VaeGraph(nn, vaeConfig).decode(latent));
    });
    if (vjpGraph) {
      log('writing the vae_decoder VJP graph');
      await appendVjpGraphOrWarn(
        path.join(dir, 'vae_decoder'),
        'vae_decoder',
        {
          wrt: 'latent',
          outputs: ['image'],
          probes: () =>
            [
              [2, 4],
              [3, 6],
            ].map(([batch, size]) => ({
              latent: tf.randomNormal([batch, size, size, vaeConfig.latentChannels]),
            })),
        },
        log,
      );
    }
    log('converting vae_encoder');
    writeGraphModel(path.join(dir, 'vae_encoder'), 'vae_encoder', vaeWeights, graphOptions, (nn) => {
      const image = nn.g.input('image', 'float32', [null, null, null, vaeConfig.inChannels]);
      const { mean, logvar } = new VaeGraph(nn, vaeConfig).encode(image);
      nn.g.output('mean', mean);
      nn.g.output('logvar', logvar);
    });
  } finally {
    vaeWeights.close();
  }
}

/** The sag.json component shapes of the VAE graphs. */
export function vaeComponents(vaeConfig: VaeConfig): Record<string, ComponentShapes> {
  return {
    vae_decoder: {
      inputs: { latent: [null, null, null, vaeConfig.latentChannels] },
      outputs: { image: [null, null, null, vaeConfig.outChannels] },
    },
    vae_encoder: {
      inputs: { image: [null, null, null, vaeConfig.inChannels] },
      outputs: {
        mean: [null, null, null, vaeConfig.latentChannels],
        logvar: [null, null, null, vaeConfig.latentChannels],
      },
    },
  };
}

/** `sag convert sd` of a diffusers directory: UNet, VAE decoder and encoder, text encoder, tokenizer, scheduler, sag.json. */
export async function convertStableDiffusion(
  srcDir: string,
  outDir: string,
  options: ConversionOptions,
): Promise<ConvertedStableDiffusion> {
  return convertStableDiffusionSource(diffusersDirectorySource(srcDir), outDir, options);
}

/**
 * Converts a Stable Diffusion source (a diffusers directory or a single-file checkpoint) and closes it: UNet, VAE
 * decoder and encoder, text encoder, tokenizer, scheduler config and sag.json.
 */
export async function convertStableDiffusionSource(
  source: StableDiffusionSource,
  outDir: string,
  options: ConversionOptions,
): Promise<ConvertedStableDiffusion> {
  try {
    return await convertFrom(source, outDir, options);
  } finally {
    source.close();
  }
}

async function convertFrom(
  source: StableDiffusionSource,
  outDir: string,
  options: ConversionOptions,
): Promise<ConvertedStableDiffusion> {
  const { configs } = source;
  const unetConfig = parseUnetConfig(configs.unet.raw, configs.unet.source);
  const vaeConfig = parseVaeConfig(configs.vae.raw, configs.vae.source);
  const textConfig = parseClipTextConfig(configs.text_encoder.raw, configs.text_encoder.source);
  parseSchedulerConfig(configs.scheduler.raw, configs.scheduler.source);
  if (textConfig.hiddenSize !== unetConfig.crossAttentionDim) {
    throw new Error(
      `${source.description}: text encoder hidden_size ${textConfig.hiddenSize} does not match the UNet's cross_attention_dim ${unetConfig.crossAttentionDim}`,
    );
  }
  const log = options.log ?? (() => undefined);
  const graphOptions = { dtype: options.dtype, verbose: options.verbose, log, fusedOps: options.fusedOps };
  const manifest = await writeAtomically(outDir, options.overwrite ?? false, async (tmp) => {
    log('converting unet');
    writeUnetGraphFrom(await source.weights('unet'), path.join(tmp, 'unet'), unetConfig, graphOptions);
    if (options.vjpGraphs ?? true) {
      log('writing the unet VJP graph');
      await appendUnetVjpGraph(path.join(tmp, 'unet'), unetConfig, textConfig.maxPositions, log);
    }
    await writeVaeGraphs(
      await source.weights('vae'),
      tmp,
      vaeConfig,
      graphOptions,
      options.vjpGraphs ?? true,
    );
    const textWeights = await source.weights('text_encoder');
    try {
      log('converting text_encoder');
      writeGraphModel(path.join(tmp, 'text_encoder'), 'text_encoder', textWeights, graphOptions, (nn) => {
        const ids = nn.g.input('input_ids', 'int32', [null, textConfig.maxPositions]);
        // transformers checkpoints name the tower 'text_model.'; some exports drop the prefix.
        const prefix = textWeights.has('text_model.embeddings.token_embedding.weight') ? 'text_model.' : '';
        nn.g.output('last_hidden_state', clipTextGraph(nn, prefix, textConfig, ids).lastHiddenState);
      });
    } finally {
      textWeights.close();
    }
    fs.mkdirSync(path.join(tmp, 'tokenizer'));
    for (const f of TOKENIZER_FILES) {
      const src = path.join(source.tokenizerDir, f);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(tmp, 'tokenizer', f));
    }
    if (source.tokenizerConfig) {
      const file = path.join(tmp, 'tokenizer', 'tokenizer_config.json');
      const given = fs.existsSync(file)
        ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)
        : {};
      fs.writeFileSync(file, `${JSON.stringify({ ...given, ...source.tokenizerConfig }, null, 2)}\n`);
    }
    fs.mkdirSync(path.join(tmp, 'scheduler'));
    fs.writeFileSync(
      path.join(tmp, 'scheduler', 'scheduler_config.json'),
      `${JSON.stringify(configs.scheduler.raw, null, 2)}\n`,
    );
    const downscale = 2 ** (vaeConfig.blockOutChannels.length - 1);
    const sagManifest: StableDiffusionManifest = {
      format: 'sag-stable-diffusion',
      version: SAG_MANIFEST_VERSION,
      source: source.description,
      dtype: options.dtype,
      layout: 'NHWC',
      components: {
        unet: {
          inputs: {
            sample: [null, null, null, unetConfig.inChannels],
            timestep: [null],
            encoder_hidden_states: [null, textConfig.maxPositions, unetConfig.crossAttentionDim],
          },
          outputs: { out: [null, null, null, unetConfig.outChannels] },
        },
        ...vaeComponents(vaeConfig),
        text_encoder: {
          inputs: { input_ids: [null, textConfig.maxPositions] },
          outputs: { last_hidden_state: [null, textConfig.maxPositions, textConfig.hiddenSize] },
        },
        tokenizer: { maxLength: textConfig.maxPositions },
        scheduler: 'scheduler/scheduler_config.json',
      },
      latentChannels: vaeConfig.latentChannels,
      scalingFactor: vaeConfig.scalingFactor,
      vaeDownscale: downscale,
      imageSize: unetConfig.sampleSize * downscale,
      crossAttentionDim: unetConfig.crossAttentionDim,
    };
    writeSagManifest(tmp, sagManifest);
    return sagManifest;
  });
  return { outDir, manifest };
}
