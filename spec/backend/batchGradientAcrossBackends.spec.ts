import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { digitUnetGradient } from '../helpers/digitUnetGradient';
import { relativeL2 } from '../helpers/relativeError';

beforeAll(async () => {
  await startBackend('wasm', { announce: false });
});

/** The image pixel each output pixel copies, by running the forward resize on an image of pixel indices. */
async function resizeSources(
  shape: [number, number, number, number],
  size: [number, number],
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Promise<number[]> {
  const count = shape.reduce((a, b) => a * b, 1);
  const indices = tf.tensor(
    Array.from({ length: count }, (_, i) => i),
    shape,
  ) as tf.Tensor4D;
  const sources = tf.image.resizeNearestNeighbor(indices, size, alignCorners, halfPixelCenters);
  return Array.from(await sources.data());
}

describe('ResizeNearestNeighbor gradient on cpu', () => {
  test.each([
    ['2x upsample', [2, 4, 4, 3], [8, 8], false, false],
    ['non-integer', [3, 5, 3, 2], [7, 8], false, false],
    ['align corners', [2, 5, 4, 2], [9, 7], true, false],
    ['half-pixel centres', [2, 4, 6, 1], [7, 5], false, true],
    ['downsample', [2, 6, 6, 2], [4, 3], false, false],
  ] as const)(
    '%s at batch > 1: each dy pixel lands on its source pixel',
    async (_name, shape, size, ac, hpc) => {
      await tf.setBackend('cpu');
      const x = tf.randomNormal([...shape]) as tf.Tensor4D;
      const dy = tf.randomNormal([shape[0], size[0], size[1], shape[3]]);
      const dx = tf.grad((v: tf.Tensor) =>
        tf.image.resizeNearestNeighbor(v as tf.Tensor4D, [...size], ac, hpc),
      )(x, dy);
      const sources = await resizeSources([...shape], [...size], ac, hpc);
      const expected = new Float32Array(x.size);
      const dyValues = await dy.data();
      sources.forEach((source, i) => (expected[source] += dyValues[i]));
      expect(relativeL2(await dx.data(), expected)).toBeLessThan(1e-6);
    },
  );
});

test('the SAG gradient through the embedded UNet at batch 2 is the same on cpu and wasm', async () => {
  await tf.setBackend('wasm');
  const wasm = await digitUnetGradient(2);
  await tf.setBackend('cpu');
  const cpu = await digitUnetGradient(2);
  // Before the cpu upsample gradient was replaced, this was 0.8.
  expect(relativeL2(cpu, wasm)).toBeLessThan(1e-4);
}, 120_000);
