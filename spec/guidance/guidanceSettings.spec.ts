import * as tf from '@tensorflow/tfjs';
import { stepCountSchedule } from '../../lib/guidance/guidanceSettings';
import { readScalar } from '../../lib/backend/readTensor';
import { guidanceStepSize } from '../../lib/guidance/rho';
import { useTestBackend } from '../helpers/testBackend';

beforeAll(useTestBackend);

describe('rho', () => {
  const g = () => tf.fill([4], 2);
  const stepSize = (...args: Parameters<typeof guidanceStepSize>) => readScalar(guidanceStepSize(...args));
  test('rms mode with CFG: scale * w * RMS(eps_c - eps_u) / RMS(g)', async () => {
    expect(
      await stepSize('rms', 0.2, g(), {
        guidanceDelta: tf.fill([4], 0.5),
        eps: tf.fill([4], 1),
        cfgScale: 7.5,
      }),
    ).toBeCloseTo((0.2 * 7.5 * 0.5) / 2, 6);
  });
  test('rms mode without CFG, or with identical prompts: scale * RMS(eps) / RMS(g)', async () => {
    expect(
      await stepSize('rms', 0.2, g(), { guidanceDelta: null, eps: tf.fill([4], 3), cfgScale: 1 }),
    ).toBeCloseTo(0.3, 6);
    expect(
      await stepSize('rms', 0.2, g(), {
        guidanceDelta: tf.zeros([4]),
        eps: tf.fill([4], 3),
        cfgScale: 7.5,
      }),
    ).toBeCloseTo(0.3, 6);
    // Identical prompts through a BLAS library that sums the two halves of the batch in different orders.
    expect(
      await stepSize('rms', 0.2, g(), {
        guidanceDelta: tf.fill([4], 3e-7),
        eps: tf.fill([4], 3),
        cfgScale: 7.5,
      }),
    ).toBeCloseTo(0.3, 6);
  });
  test('constant mode and a zero gradient', async () => {
    expect(
      await stepSize('constant', 5, g(), { guidanceDelta: null, eps: tf.fill([4], 3), cfgScale: 1 }),
    ).toBe(5);
    expect(
      await stepSize('rms', 0.2, tf.zeros([4]), { guidanceDelta: null, eps: tf.fill([4], 3), cfgScale: 1 }),
    ).toBe(0);
  });
});

test('adaptive n decreases linearly over the guided window', () => {
  const schedule = stepCountSchedule({ from: 6, to: 1 });
  expect(Array.from({ length: 6 }, (_, k) => schedule(k, 6))).toEqual([6, 5, 4, 3, 2, 1]);
  expect(Array.from({ length: 3 }, (_, k) => schedule(k, 3))).toEqual([6, 4, 1]);
  expect(schedule(0, 1)).toBe(6);
  expect(stepCountSchedule(4)(3, 10)).toBe(4);
});

test('rho never exceeds its cap, in both modes', async () => {
  const tiny = tf.fill([4], 1e-9);
  const reference = { guidanceDelta: null, eps: tf.fill([4], 3), cfgScale: 1 };
  expect(await readScalar(guidanceStepSize('rms', 0.2, tiny, reference))).toBeGreaterThan(1e8);
  expect(await readScalar(guidanceStepSize('rms', 0.2, tiny, reference, 1000))).toBe(1000);
  expect(await readScalar(guidanceStepSize('constant', 5, tiny, reference, 2))).toBe(2);
});
