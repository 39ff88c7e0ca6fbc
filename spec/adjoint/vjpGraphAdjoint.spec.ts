import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../../lib/adjoint';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { StableDiffusionModels } from '../../lib/models/stableDiffusionModels';
import { RK4, makeEstimateProblem } from '../../lib/ode';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { LatentDenoiser } from '../../lib/pipeline/latentDenoiser';
import { PixelDenoiser } from '../../lib/pipeline/pixelDenoiser';
import { Denoiser } from '../../lib/guidance/denoiser';
import { ConvertedFixtures, convertFixtureModels, removeFixtureModels } from '../helpers/fixturePipeline';
import { relativeL2 } from '../helpers/relativeError';
import { useTestBackend } from '../helpers/testBackend';

let fixtures: ConvertedFixtures;
beforeAll(async () => {
  await useTestBackend();
  fixtures = await convertFixtureModels();
});
afterAll(() => removeFixtureModels(fixtures));

/** A denoiser built with SAG_VJP_GRAPHS set to `value` (read when the denoiser is made). */
function withVjpGraphs<T>(value: '0' | '1', make: () => T): T {
  const before = process.env.SAG_VJP_GRAPHS;
  process.env.SAG_VJP_GRAPHS = value;
  try {
    return make();
  } finally {
    if (before === undefined) delete process.env.SAG_VJP_GRAPHS;
    else process.env.SAG_VJP_GRAPHS = before;
  }
}

/** The symplectic SAG gradient (RK4, n = 3) of a simple loss, through `denoiser`. */
function sagGradient(denoiser: Denoiser, x: tf.Tensor, t: number) {
  const problem = makeEstimateProblem(denoiser.eps, denoiser.schedule, t, { n: 3, tableau: RK4 });
  const result = estimateGradient(
    'symplectic',
    problem,
    x,
    (x0) => tf.sum(tf.square(tf.sub(x0, 0.3))) as tf.Scalar,
  );
  tf.dispose([result.x0hat, result.loss]);
  return result.grad;
}

test('pixel model: the SAG gradient through the VJP graph equals the one through tf.grad', async () => {
  const model = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
  const make = () => new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize);
  const viaGraph = withVjpGraphs('1', make);
  const viaTape = withVjpGraphs('0', make);
  expect(viaGraph.eps.vjp).toBeDefined();
  expect(viaTape.eps.vjp).toBeUndefined();
  const x = tf.randomNormal([3, 32, 32, 1], 0, 1, 'float32', 4);
  expect(relativeL2(sagGradient(viaGraph, x, 640), sagGradient(viaTape, x, 640))).toBeLessThan(1e-5);
  model.dispose();
});

test('latent model with CFG: the SAG gradient through the UNet VJP graph equals the one through tf.grad', async () => {
  const sd = await StableDiffusionModels.load(fixtures.sd);
  expect(sd.unetVjpGraph).toBe(true);
  const cond = tf.randomNormal([2, 77, 32], 0, 1, 'float32', 5);
  const uncond = tf.randomNormal([2, 77, 32], 0, 1, 'float32', 6);
  const make = () => new LatentDenoiser(sd, cond, uncond, 4);
  const viaGraph = withVjpGraphs('1', make);
  const viaTape = withVjpGraphs('0', make);
  const x = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 7);
  expect(relativeL2(sagGradient(viaGraph, x, 500), sagGradient(viaTape, x, 500))).toBeLessThan(1e-5);
  sd.dispose();
});
