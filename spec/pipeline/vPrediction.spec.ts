import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { PixelDenoiser } from '../../lib/pipeline/pixelDenoiser';
import { relativeL2 } from '../helpers/relativeError';
import { copyDir, makeTempDir } from '../helpers/tempDir';
import { useTestBackend } from '../helpers/testBackend';

beforeAll(useTestBackend);

test('a v-prediction model: the denoiser turns the network output into eps (integer and stage timesteps)', async () => {
  const dir = makeTempDir('v-prediction-model');
  copyDir(embeddedModelDir('digit-unet'), dir);
  const configFile = path.join(dir, 'scheduler', 'scheduler_config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(configFile, JSON.stringify({ ...config, prediction_type: 'v_prediction' }));
  const model = await PixelDiffusionModel.load(dir);
  try {
    expect(model.schedule.config.predictionType).toBe('v_prediction');
    const denoiser = new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize);
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 3);
    for (const t of [700, 312.5]) {
      const v = model.unet.execute({ sample: x, timestep: tf.tensor1d([t]) }, ['out'])[0];
      const abar = model.schedule.abarAtTimestep(t);
      const expected = tf.add(tf.mul(v, Math.sqrt(abar)), tf.mul(x, Math.sqrt(1 - abar)));
      expect(relativeL2(denoiser.eps(x, t), expected)).toBeLessThan(1e-6);
      // and the estimate's gradient flows through the conversion (x appears in eps directly)
      const grad = tf.grad((xx: tf.Tensor) => tf.sum(denoiser.eps(xx, t)))(x);
      const rawGrad = tf.grad((xx: tf.Tensor) =>
        tf.sum(model.unet.execute({ sample: xx, timestep: tf.tensor1d([t]) }, ['out'])[0]),
      )(x);
      const expectedGrad = tf.add(tf.mul(rawGrad, Math.sqrt(abar)), Math.sqrt(1 - abar));
      expect(relativeL2(grad, expectedGrad)).toBeLessThan(1e-5);
    }
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
