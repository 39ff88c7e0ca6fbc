import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../../lib/adjoint';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { EULER, makeEstimateProblem } from '../../lib/ode';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { PixelDenoiser } from '../../lib/pipeline/pixelDenoiser';
import { digitClassLoss } from '../helpers/digitClassLoss';
import { relativeL2 } from '../helpers/relativeError';
import { useTestBackend } from '../helpers/testBackend';

beforeAll(useTestBackend);

/**
 * FreeDoM (Yu et al. 2023) guides with the gradient of the loss on the one-step (Tweedie) estimate
 * x0 = (x_t - sqrt(1 - abar_t) eps(x_t, t)) / sqrt(abar_t). Written here from that formula alone, it must equal what
 * sag computes as the n = 1 Euler estimate's gradient, which is how `--method freedom` runs.
 */
test.each([200, 600, 900])('FreeDoM by its own formula equals SAG with n = 1 (t = %i)', async (t) => {
  const model = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
  const classifier = await ImageClassifier.load(embeddedModelDir('digit-classifier'));
  try {
    const denoiser = new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize);
    const classLoss = digitClassLoss(classifier, denoiser, 3);
    const x = tf.randomNormal([3, 32, 32, 1], 0, 1, 'float32', t);
    const abar = model.schedule.abar(t);
    const tweedie = (xt: tf.Tensor) =>
      tf.div(tf.sub(xt, tf.mul(denoiser.eps(xt, t), Math.sqrt(1 - abar))), Math.sqrt(abar));
    const freedom = tf.grad((xt: tf.Tensor) => classLoss(tweedie(xt)))(x);
    const problem = makeEstimateProblem(denoiser.eps, model.schedule, t, { n: 1, tableau: EULER });
    const sag = estimateGradient('symplectic', problem, x, classLoss);
    // At t = 900 (abar = 2.7e-4) x0 = (x - 0.99986 eps) / 0.016: the two formulas' float32 rounding, ~1e-7 of eps,
    // moves x0 by ~1e-5, enough to flip a ReLU of the classifier somewhere; measured 2e-6 or 2-3e-4 depending on
    // the backend's kernels (cpu, wasm, native BLAS) and the UNet's GroupNorm form, for the same math.
    expect(relativeL2(sag.grad, freedom)).toBeLessThan(t >= 900 ? 1e-3 : 1e-5);
    // and the n = 4 estimate's gradient is a different one (the point of SAG)
    const four = estimateGradient(
      'symplectic',
      makeEstimateProblem(denoiser.eps, model.schedule, t, { n: 4 }),
      x,
      classLoss,
    );
    expect(relativeL2(four.grad, freedom)).toBeGreaterThan(0.05);
    tf.dispose([x, freedom, sag.grad, sag.x0hat, sag.loss, four.grad, four.x0hat, four.loss]);
  } finally {
    model.dispose();
    classifier.dispose();
  }
});
