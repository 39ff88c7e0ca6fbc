import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../../lib/adjoint';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { EULER, makeEstimateProblem } from '../../lib/ode';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';

/**
 * The symplectic SAG gradient of 0.5 ||x0||^2 through the embedded digit UNet (n = 2 from t = 500) for a fixed
 * batch of `batch` noisy samples, on the current backend, read back as numbers. The UNet's two upsamplings put
 * ResizeNearestNeighbor's gradient on the path.
 */
export async function digitUnetGradient(batch: number): Promise<Float32Array> {
  const model = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
  try {
    const eps = (x: tf.Tensor, t: number) =>
      tf.tidy(() => model.unet.execute({ sample: x, timestep: tf.tensor1d([t]) }, ['out'])[0]);
    const problem = makeEstimateProblem(eps, model.schedule, 500, { n: 2, tableau: EULER });
    const x = tf.randomNormal([batch, model.imageSize, model.imageSize, model.channels], 0, 1, 'float32', 11);
    const g = estimateGradient('symplectic', problem, x, (x0) =>
      tf.tidy(() => tf.mul(tf.sum(tf.square(x0)), 0.5) as tf.Scalar),
    );
    const values = (await g.grad.data()) as Float32Array;
    tf.dispose([x, g.grad, g.x0hat, g.loss]);
    return values;
  } finally {
    model.dispose();
  }
}
