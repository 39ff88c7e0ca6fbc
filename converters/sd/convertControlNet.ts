import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { appendVjpGraphOrWarn } from '../graph/vjp/appendVjpGraph';
import { ControlNetManifest, SAG_MANIFEST_VERSION } from '../../lib/models/sagManifest';
import { writeSagManifest } from '../../lib/models/sagManifestFile';
import { ConversionOptions } from '../conversionOptions';
import { writeGraphModel } from '../graph/writeGraphModel';
import { writeAtomically } from '../outputDirectory';
import { CheckpointWeights } from '../weights/weightSource';
import { ControlNetGraph, controlNetResidualChannels, parseControlNetConfig } from './controlNetGraph';
import { readJsonConfig } from './diffusersConfig';

/** Residual output names of a converted ControlNet: down_<i> per UNet skip connection, and mid. */
export function controlNetOutputNames(downCount: number): string[] {
  return [...Array.from({ length: downCount }, (_, i) => `down_${i}`), 'mid'];
}

/**
 * `sag convert controlnet`: a diffusers ControlNetModel directory (config.json and weights) -> controlnet/ (inputs
 * sample, timestep, encoder_hidden_states, controlnet_cond [B, H, W, C] in [0, 1], conditioning_scale [1]; outputs
 * down_<i> and mid) and a 'sag-controlnet' sag.json.
 */
export async function convertControlNet(
  srcDir: string,
  outDir: string,
  options: ConversionOptions,
): Promise<ControlNetManifest> {
  const raw = readJsonConfig(srcDir, 'diffusers ControlNetModel');
  if (raw._class_name !== undefined && raw._class_name !== 'ControlNetModel') {
    throw new Error(`${srcDir}: config.json describes a ${String(raw._class_name)}, not a ControlNetModel`);
  }
  const config = parseControlNetConfig(raw, path.join(srcDir, 'config.json'));
  const residuals = controlNetResidualChannels(config);
  const log = options.log ?? (() => undefined);
  const weights = await CheckpointWeights.openDirectory(srcDir, ['diffusion_pytorch_model', 'model']);
  try {
    return await writeAtomically(outDir, options.overwrite ?? false, async (tmp) => {
      log('converting controlnet');
      const graphOptions = {
        dtype: options.dtype,
        verbose: options.verbose,
        log,
        fusedOps: options.fusedOps,
      };
      writeGraphModel(path.join(tmp, 'controlnet'), 'controlnet', weights, graphOptions, (nn) => {
        const { inChannels, crossAttentionDim } = config.unet;
        const sample = nn.g.input('sample', 'float32', [null, null, null, inChannels]);
        const timestep = nn.g.input('timestep', 'float32', [null]);
        const context = nn.g.input('encoder_hidden_states', 'float32', [null, null, crossAttentionDim]);
        const condition = nn.g.input('controlnet_cond', 'float32', [
          null,
          null,
          null,
          config.conditioningChannels,
        ]);
        const scale = nn.g.input('conditioning_scale', 'float32', [1]);
        const { down, mid } = new ControlNetGraph(nn, config).build(
          sample,
          timestep,
          context,
          condition,
          scale,
        );
        const names = controlNetOutputNames(down.length);
        [...down, mid].forEach((ref, i) => nn.g.output(names[i], ref));
      });
      if (options.vjpGraphs ?? true) {
        log('writing the controlnet VJP graph');
        const side = 2 ** (config.unet.blockOutChannels.length - 1);
        const downscale = 2 ** (config.embeddingChannels.length - 1);
        await appendVjpGraphOrWarn(
          path.join(tmp, 'controlnet'),
          'controlnet',
          {
            wrt: 'sample',
            outputs: controlNetOutputNames(residuals.down.length),
            probes: () =>
              [
                [2, 2 * side],
                [3, 3 * side],
              ].map(([batch, size]) => ({
                sample: tf.randomNormal([batch, size, size, config.unet.inChannels]),
                timestep: tf.tensor1d([500]),
                encoder_hidden_states: tf.randomNormal([batch, 5, config.unet.crossAttentionDim]),
                controlnet_cond: tf.randomUniform([
                  batch,
                  size * downscale,
                  size * downscale,
                  config.conditioningChannels,
                ]),
                conditioning_scale: tf.tensor1d([1]),
              })),
          },
          log,
        );
      }
      const unused = weights.unused();
      if (unused.length > 0) {
        throw new Error(
          `${srcDir}: ${unused.length} tensors the config does not account for, e.g. '${unused[0]}'`,
        );
      }
      const manifest: ControlNetManifest = {
        format: 'sag-controlnet',
        version: SAG_MANIFEST_VERSION,
        source: path.resolve(srcDir),
        dtype: options.dtype,
        layout: 'NHWC',
        components: {
          controlnet: {
            inputs: {
              sample: [null, null, null, config.unet.inChannels],
              timestep: [null],
              encoder_hidden_states: [null, null, config.unet.crossAttentionDim],
              controlnet_cond: [null, null, null, config.conditioningChannels],
              conditioning_scale: [1],
            },
            outputs: controlNetOutputNames(residuals.down.length),
          },
        },
        residualChannels: residuals,
        latentChannels: config.unet.inChannels,
        crossAttentionDim: config.unet.crossAttentionDim,
        conditioningChannels: config.conditioningChannels,
        conditionDownscale: 2 ** (config.embeddingChannels.length - 1),
        channelOrder: config.channelOrder,
      };
      writeSagManifest(tmp, manifest);
      return manifest;
    });
  } finally {
    weights.close();
  }
}
