import * as tf from '@tensorflow/tfjs';
import { guidedStep, GuidedSamplingRun } from '../../lib/guidance/guidedSampling';
import { stepCountSchedule } from '../../lib/guidance/guidanceSettings';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { EULER } from '../../lib/ode';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { PixelDenoiser } from '../../lib/pipeline/pixelDenoiser';
import { createSampler, disposeSamplerState } from '../../lib/samplers';
import { SeededNoise } from '../../lib/samplers/seededNoise';
import { digitClassLoss } from '../helpers/digitClassLoss';
import { relativeL2 } from '../helpers/relativeError';
import { useTestBackend } from '../helpers/testBackend';

beforeAll(useTestBackend);

/**
 * Universal Guidance's forward guidance (Bansal et al. 2023, eq. 6), written here from the paper's formula alone:
 * eps_hat = eps(x_t) + s sqrt(1 - abar_t) grad_x_t L(x0hat(x_t)) with the one-step estimate
 * x0hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), and the sampler steps with eps_hat instead of eps. A guided
 * step of `--method ug` must be exactly that; the SAG / FreeDoM update (subtracting rho g from the stepped sample)
 * is a different one.
 */
test.each([1, 4, 8])(
  'a UG step is the sampler step with eps + s sqrt(1 - abar) dL/dx_t (main step %i of 10)',
  async (i) => {
    const model = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
    const classifier = await ImageClassifier.load(embeddedModelDir('digit-classifier'));
    try {
      const denoiser = new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize);
      const classLoss = digitClassLoss(classifier, denoiser, 5);
      const sampler = createSampler('ddim', denoiser.schedule, 10);
      const s = 40;
      const run: GuidedSamplingRun = {
        denoiser,
        sampler,
        settings: {
          method: 'ug',
          n: stepCountSchedule(4),
          tableau: EULER,
          grad: 'symplectic',
          grid: 'paper',
          window: { start: 0, end: 9 },
          repeats: 1,
          rho: { mode: 'constant', scale: s, max: Infinity },
        },
        lossOnSample: classLoss,
        noise: new SeededNoise(3),
      };
      const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 17 + i);
      const state = sampler.initialState();
      const got = await guidedStep(run, x, state, i, 0, 10);

      const t = sampler.timesteps[i];
      const abar = model.schedule.abar(t);
      const eps = denoiser.eps(x, t);
      const tweedie = (xt: tf.Tensor) =>
        tf.div(tf.sub(xt, tf.mul(denoiser.eps(xt, t), Math.sqrt(1 - abar))), Math.sqrt(abar));
      const grad = tf.grad((xt: tf.Tensor) => classLoss(tweedie(xt)))(x);
      const epsHat = tf.add(eps, tf.mul(grad, s * Math.sqrt(1 - abar)));
      const expected = sampler.step(epsHat, i, x, sampler.initialState());
      const unguided = sampler.step(eps, i, x, sampler.initialState());
      expect(relativeL2(got.prev, expected.prevSample)).toBeLessThan(1e-5);
      expect(relativeL2(got.prev, unguided.prevSample)).toBeGreaterThan(1e-3);
      expect(got.record.rho).toBe(s);
      expect(got.record.loss).toBeCloseTo(
        await classLoss(tweedie(x))
          .data()
          .then((v) => v[0]),
        4,
      );
      tf.dispose([x, eps, grad, epsHat, got.prev, expected.prevSample, unguided.prevSample]);
      disposeSamplerState(got.state);
      disposeSamplerState(expected.state);
      disposeSamplerState(unguided.state);
    } finally {
      model.dispose();
      classifier.dispose();
    }
  },
);
