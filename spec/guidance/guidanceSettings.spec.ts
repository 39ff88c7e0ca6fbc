import * as tf from '@tensorflow/tfjs';
import {
  parseGuidanceMethod,
  parseStepCountSchedule,
  parseWindow,
} from '../../lib/guidance/guidanceSettings';
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

describe('settings parsing', () => {
  test('adaptive n decreases linearly over the guided window', () => {
    const schedule = parseStepCountSchedule('6:1');
    expect(Array.from({ length: 6 }, (_, k) => schedule(k, 6))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(parseStepCountSchedule('4')(3, 10)).toBe(4);
    expect(() => parseStepCountSchedule('0')).toThrow(
      "--n: expected an integer >= 1 or 'from:to' (e.g. 6:1), got '0'",
    );
  });
  test('windows', () => {
    expect(parseWindow('30..69', 100)).toEqual({ start: 30, end: 69 });
    expect(parseWindow('all', 50)).toEqual({ start: 0, end: 49 });
    expect(() => parseWindow('30..120', 100)).toThrow('--window: 30..120 is not inside main steps 0..99');
    expect(() => parseWindow('x', 100)).toThrow(/expected 'start..end'/);
  });
  test('methods', () => {
    expect(parseGuidanceMethod('ug')).toBe('ug');
    expect(() => parseGuidanceMethod('dps')).toThrow('--method: expected one of sag, freedom, ug, none, got');
  });
});

test('rho never exceeds its cap, in both modes', async () => {
  const tiny = tf.fill([4], 1e-9);
  const reference = { guidanceDelta: null, eps: tf.fill([4], 3), cfgScale: 1 };
  expect(await readScalar(guidanceStepSize('rms', 0.2, tiny, reference))).toBeGreaterThan(1e8);
  expect(await readScalar(guidanceStepSize('rms', 0.2, tiny, reference, 1000))).toBe(1000);
  expect(await readScalar(guidanceStepSize('constant', 5, tiny, reference, 2))).toBe(2);
});
