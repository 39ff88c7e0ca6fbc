/**
 * Writes the shipped graph models from the training checkpoints:
 *   weights/train/out/digit-unet-ema.safetensors   -> weights/digit-unet/
 *   weights/train/out/digit-classifier.safetensors -> weights/digit-classifier/
 *   weights/train/out/digit-evaluator.safetensors  -> weights/digit-evaluator/
 *
 *   npx tsx weights/train/exportEmbedded.ts [--out weights/train/out] [--unet <checkpoint>]
 */
import * as path from 'path';
import { writeClassifierModel, writePixelDiffusionModel } from '../../converters/pixel/writeEmbeddedModels';
import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { writeImageFile } from '../../lib/io/imageFile';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { loadDigits } from './mnistData';
import { DIGIT_CLASSIFIER_SPEC, DIGIT_EVALUATOR_SPEC } from '../../converters/pixel/classifierSpec';
import { DIGIT_SCHEDULER_CONFIG } from './digitScheduler';
import { EMBEDDED_UNET_SPEC } from '../../converters/pixel/pixelUnetSpec';

function metadata(file: string): Record<string, string> {
  const f = SafetensorsFile.open(file);
  const m = f.metadata;
  f.close();
  return m;
}

/**
 * Generation defaults stored in weights/digit-unet/sag.json: without CFG, rho's rms rule scales by RMS(eps) (~1),
 * and 0.2 over-steers this small model (measured: broken digits); 0.05 guides without artefacts.
 */
export const EMBEDDED_GENERATION_DEFAULTS = { sampler: 'ddim', steps: 50, rhoScale: 0.05 };

/** A few held-out digits as style references (weights/examples/digit-style-<label>.png). */
async function writeReferenceDigits(): Promise<void> {
  const { heldOut } = loadDigits();
  for (const label of [0, 4, 8]) {
    const index = heldOut.labels.indexOf(label);
    const pixels = heldOut.images.subarray(index * 1024, (index + 1) * 1024).map((v) => (v + 1) / 2);
    const image = tf.tensor3d(pixels, [32, 32, 1]);
    await writeImageFile(path.join('weights', 'examples', `digit-style-${label}.png`), image);
    image.dispose();
  }
}

async function main(): Promise<void> {
  await startBackend('cpu', { announce: false });
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : fallback;
  };
  const dir = arg('out', 'weights/train/out');
  const unet = arg('unet', path.join(dir, 'digit-unet-ema.safetensors'));
  await writePixelDiffusionModel(unet, EMBEDDED_UNET_SPEC, DIGIT_SCHEDULER_CONFIG, 'weights/digit-unet', {
    training: { steps: Number(metadata(unet).steps), script: 'weights/train/trainDiffusion.ts' },
    defaults: EMBEDDED_GENERATION_DEFAULTS,
  });
  for (const spec of [DIGIT_CLASSIFIER_SPEC, DIGIT_EVALUATOR_SPEC]) {
    const file = path.join(dir, `${spec.name}.safetensors`);
    const m = metadata(file);
    await writeClassifierModel(file, spec, path.join('weights', spec.name), {
      training: {
        seed: Number(m.seed),
        heldOutAccuracy: Number(m.heldOutAccuracy),
        script: 'weights/train/trainClassifier.ts',
      },
    });
  }
  await writeReferenceDigits();
  process.stdout.write(
    'wrote weights/digit-unet, weights/digit-classifier, weights/digit-evaluator, weights/examples\n',
  );
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
