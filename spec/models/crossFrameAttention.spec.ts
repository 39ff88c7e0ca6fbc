import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertStableDiffusion } from '../../converters/sd/convertStableDiffusion';
import { readValues } from '../../lib/backend/readTensor';
import { CrossFrameMode, frameMixMatrix } from '../../lib/models/frameMix';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { StableDiffusionModels } from '../../lib/models/stableDiffusionModels';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { LatentDenoiser } from '../../lib/pipeline/latentDenoiser';
import { PixelDenoiser } from '../../lib/pipeline/pixelDenoiser';
import { Denoiser } from '../../lib/guidance/denoiser';
import { repoFixtureDir } from '../helpers/fixtures';
import { makeTempDir } from '../helpers/tempDir';
import { useTestBackend } from '../helpers/testBackend';

// Cross-frame attention (lib/models/frameMix.ts): the UNets' self-attentions take keys and values from the frames
// the frame mix names. Properties that pin it down without a reference implementation: the first frame is its own
// anchor, so its output does not change; identical frames give the ordinary output; other frames change; and the
// converter's VJP graph is the exact transpose of the mixed forward (against tf.grad).
const T = 600;

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = Float32Array.from(await readValues(t));
  t.dispose();
  return v;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** The frame's slice [i] of a batch tensor's values. */
function frame(all: Float32Array, batch: number, i: number): Float32Array {
  const per = all.length / batch;
  return all.subarray(i * per, (i + 1) * per);
}

async function checkProperties(
  make: (mode: CrossFrameMode | null) => Denoiser,
  shape: number[],
): Promise<void> {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
  const batch = shape[0];
  const plain = await values(make(null).eps(x, T));
  const first = await values(make('first').eps(x, T));
  const previous = await values(make('previous').eps(x, T));
  // Frame 0 attends to itself in every mode.
  expect(maxAbs(frame(first, batch, 0), frame(plain, batch, 0))).toBe(0);
  expect(maxAbs(frame(previous, batch, 0), frame(plain, batch, 0))).toBe(0);
  // Frame 1's anchor is frame 0 in both modes; the later frames differ from their own attention.
  expect(maxAbs(frame(first, batch, 1), frame(previous, batch, 1))).toBe(0);
  for (let i = 1; i < batch; i++)
    expect(maxAbs(frame(first, batch, i), frame(plain, batch, i))).toBeGreaterThan(1e-4);
  // Identical frames: attending to another frame is attending to the same tokens.
  const same = tf.tidy(() => tf.tile(tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]), [batch, 1, 1, 1]));
  const sameFirst = await values(make('first').eps(same, T));
  const samePlain = await values(make(null).eps(same, T));
  expect(maxAbs(sameFirst, samePlain)).toBeLessThan(1e-5);
  // The VJP graph of the mixed forward against tf.grad through the forward graph.
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
  const denoiser = make('previous');
  const viaGraph = await values((denoiser.eps.vjp as NonNullable<typeof denoiser.eps.vjp>)(x, T, dy));
  const viaTape = await values(tf.grad((input: tf.Tensor) => tf.sum(tf.mul(denoiser.eps(input, T), dy)))(x));
  const scale = viaTape.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(maxAbs(viaGraph, viaTape) / scale).toBeLessThan(1e-4);
  tf.dispose([x, same, dy]);
}

beforeAll(useTestBackend);

test('frame mix matrices: identity, first, previous, and one block per CFG branch', async () => {
  expect(Array.from(await values(frameMixMatrix(null, 2)))).toEqual([1, 0, 0, 1]);
  expect(Array.from(await values(frameMixMatrix('first', 3)))).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0]);
  expect(Array.from(await values(frameMixMatrix('previous', 3)))).toEqual([1, 0, 0, 1, 0, 0, 0, 1, 0]);
  expect(Array.from(await values(frameMixMatrix('first', 2, 2)))).toEqual([
    1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0,
  ]);
});

test('the embedded digit UNet attends across frames', async () => {
  const model = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
  const before = tf.memory().numTensors;
  await checkProperties(
    (mode) => new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize, true, mode),
    [3, 32, 32, 1],
  );
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
}, 120_000);

test('a converted Stable Diffusion UNet attends across frames, each CFG branch within itself', async () => {
  const dir = path.join(makeTempDir('cross-frame-sd'), 'sd');
  await convertStableDiffusion(path.join(repoFixtureDir(), 'sd-tiny'), dir, { dtype: 'float32' });
  const sd = await StableDiffusionModels.load(dir);
  // One prompt for every frame, as in a video.
  const text = (seed: number) =>
    tf.tidy(() =>
      tf.tile(tf.randomNormal([1, 77, sd.manifest.crossAttentionDim], 0, 1, 'float32', seed), [3, 1, 1]),
    );
  const context = text(5);
  const uncond = text(6);
  const latent = 64 / sd.vaeDownscale;
  await checkProperties(
    (mode) => new LatentDenoiser(sd, context, uncond, 3, true, null, mode),
    [3, latent, latent, sd.latentChannels],
  );
  tf.dispose([context, uncond]);
  sd.dispose();
}, 300_000);

test('a UNet without the frame mix input refuses cross-frame attention, naming the fix', async () => {
  const model = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
  const takes = jest.spyOn(model.unet, 'takesInput').mockReturnValue(false);
  expect(
    () => new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize, true, 'first'),
  ).toThrow(/no cross-frame attention \(no frame_mix input; converted by an older sag\): convert it again/);
  takes.mockRestore();
  model.dispose();
});
