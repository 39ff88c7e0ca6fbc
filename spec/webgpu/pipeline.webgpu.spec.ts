import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { encodeImage } from '../../lib/io/imageFile';
import { GenerateOptions } from '../../lib/options/generateOptions';
import { Pipeline } from '../../lib/pipeline/pipeline';
import {
  ConvertedFixtures,
  EXAMPLES,
  convertFixtureModels,
  removeFixtureModels,
} from '../helpers/fixturePipeline';
import { describeOnWebgpu } from '../helpers/webgpuSuite';

/**
 * Largest and mean absolute difference, in 8-bit levels, between two images. Guided runs on different backends
 * drift apart: float32 kernels round differently (~1e-7 per op), and the ReLUs of the guidance network turn that
 * into gradient differences of ~0.1-1 % along the trajectory.
 */
function pixelDifference(x: ArrayLike<number>, y: ArrayLike<number>): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]) * 255;
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / x.length };
}

async function runTwiceAndOnWasm(
  load: (backend: 'webgpu' | 'wasm') => Promise<Pipeline>,
  options: Partial<GenerateOptions>,
): Promise<{ same: boolean; max: number; mean: number; tensorsLeft: number[] }> {
  const webgpu = await load('webgpu');
  const pngs: Buffer[] = [];
  const tensorsLeft: number[] = [];
  let image: ArrayLike<number> = [];
  for (let k = 0; k < 2; k++) {
    const before = tf.memory().numTensors;
    const result = await webgpu.generate(options, { onWarning: () => undefined });
    const first = tf.squeeze(result.images, [0]) as tf.Tensor3D;
    pngs.push(await encodeImage(first, 'png'));
    first.dispose();
    if (k === 0) image = await result.images.data();
    result.images.dispose();
    tensorsLeft.push(tf.memory().numTensors - before);
  }
  webgpu.dispose();
  const wasm = await load('wasm');
  const reference = await wasm.generate(options, { onWarning: () => undefined });
  const difference = pixelDifference(image, await reference.images.data());
  reference.images.dispose();
  wasm.dispose();
  return { same: pngs[0].equals(pngs[1]), ...difference, tensorsLeft };
}

describeOnWebgpu('guided generation end to end on webgpu', () => {
  test('embedded digit model, class guidance, SAG n = 2: the same bytes twice, close to wasm, no leaks', async () => {
    const outcome = await runTwiceAndOnWasm((backend) => Pipeline.load({ backend, announceBackend: false }), {
      guidance: ['class'],
      target: '7',
      method: 'sag',
      n: 2,
      steps: 4,
      seed: 5,
    });
    expect(outcome.same).toBe(true);
    expect(outcome.tensorsLeft).toEqual([0, 0]);
    expect(outcome.mean).toBeLessThan(2);
  });

  describe('fixture Stable Diffusion model', () => {
    let models: ConvertedFixtures;
    beforeAll(async () => {
      models = await convertFixtureModels();
    });
    afterAll(() => removeFixtureModels(models));

    test('style guidance with CFG, SAG n = 2: the same bytes twice, close to wasm, no leaks', async () => {
      const outcome = await runTwiceAndOnWasm(
        (backend) => Pipeline.load({ model: models.sd, clip: models.clip, backend, announceBackend: false }),
        {
          prompt: 'a cat',
          guidance: ['style'],
          style: path.join(EXAMPLES, 'style-waves.png'),
          steps: 4,
          window: { start: 1, end: 2 },
          size: [64, 64],
          cfg: 3,
          seed: 11,
          rhoScale: 2,
          n: 2,
        },
      );
      expect(outcome.same).toBe(true);
      expect(outcome.tensorsLeft).toEqual([0, 0]);
      expect(outcome.mean).toBeLessThan(2);
    });
  });
});
