import * as tf from '@tensorflow/tfjs';
import { appendVjpGraph } from '../graph/vjp/appendVjpGraph';
import * as fs from 'fs';
import * as path from 'path';
import { ClassifierSpec } from './classifierSpec';
import { PixelUnetSpec } from './pixelUnetSpec';
import { FRAME_MIX_INPUT } from '../graph/frameMix';
import { writeGraphModel } from '../graph/writeGraphModel';
import { writeAtomically } from '../outputDirectory';
import { CheckpointWeights } from '../weights/weightSource';
import { classifierGraph } from './classifierGraph';
import { pixelUnetGraph } from './pixelUnetGraph';
import { SAG_MANIFEST_VERSION } from '../../lib/models/sagManifest';
import { writeSagManifest } from '../../lib/models/sagManifestFile';

/** Inputs for probing the pixel UNet's shapes (the image size is fixed at 32). */
export function pixelUnetProbe(imageChannels: number, batch: number): Record<string, tf.Tensor> {
  return {
    sample: tf.randomNormal([batch, 32, 32, imageChannels]),
    timestep: tf.tensor1d([batch * 100]),
    [FRAME_MIX_INPUT]: tf.eye(batch),
  };
}

/** Writes a pixel diffusion model directory (unet/, scheduler/, sag.json) from a training checkpoint. */
export async function writePixelDiffusionModel(
  checkpoint: string,
  spec: PixelUnetSpec,
  schedulerConfig: Record<string, unknown>,
  outDir: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const weights = await CheckpointWeights.open([checkpoint]);
  try {
    await writeAtomically(outDir, true, async (tmp) => {
      writeGraphModel(path.join(tmp, 'unet'), 'digit-unet', weights, { dtype: 'float32' }, (nn) => {
        const sample = nn.g.input('sample', 'float32', [null, null, null, spec.imageChannels]);
        const timestep = nn.g.input('timestep', 'float32', [null]);
        const frameMix = nn.g.input(FRAME_MIX_INPUT, 'float32', [null, null]);
        nn.g.output('out', pixelUnetGraph(nn, spec, sample, timestep, frameMix));
      });
      const unused = weights.unused();
      if (unused.length)
        throw new Error(`${checkpoint}: tensors not used by the graph: ${unused.join(', ')}`);
      await appendVjpGraph(path.join(tmp, 'unet'), {
        wrt: 'sample',
        outputs: ['out'],
        probes: () => [2, 3].map((batch) => pixelUnetProbe(spec.imageChannels, batch)),
      });
      fs.mkdirSync(path.join(tmp, 'scheduler'));
      fs.writeFileSync(
        path.join(tmp, 'scheduler', 'scheduler_config.json'),
        JSON.stringify(schedulerConfig, null, 2),
      );
      writeSagManifest(tmp, {
        format: 'sag-pixel-diffusion',
        version: SAG_MANIFEST_VERSION,
        layout: 'NHWC',
        imageSize: 32,
        channels: spec.imageChannels,
        range: [-1, 1],
        spec: { ...spec },
        ...extra,
      });
    });
  } finally {
    weights.close();
  }
}

/** Writes an image classifier directory (classifier/, sag.json) from a training checkpoint. */
export async function writeClassifierModel(
  checkpoint: string,
  spec: ClassifierSpec,
  outDir: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const weights = await CheckpointWeights.open([checkpoint]);
  try {
    await writeAtomically(outDir, true, async (tmp) => {
      writeGraphModel(path.join(tmp, 'classifier'), spec.name, weights, { dtype: 'float32' }, (nn) => {
        const image = nn.g.input('image', 'float32', [null, spec.imageSize, spec.imageSize, spec.channels]);
        const { logits, features } = classifierGraph(nn, spec, image);
        nn.g.output('logits', logits);
        nn.g.output('features', features);
      });
      await appendVjpGraph(path.join(tmp, 'classifier'), {
        wrt: 'image',
        outputs: ['logits', 'features'],
        probes: () =>
          [2, 3].map((batch) => ({
            image: tf.randomNormal([batch, spec.imageSize, spec.imageSize, spec.channels]),
          })),
      });
      writeSagManifest(tmp, {
        format: 'sag-classifier',
        version: SAG_MANIFEST_VERSION,
        layout: 'NHWC',
        imageSize: spec.imageSize,
        channels: spec.channels,
        classes: spec.classes,
        inputRange: [0, 1],
        spec: { ...spec },
        ...extra,
      });
    });
  } finally {
    weights.close();
  }
}
