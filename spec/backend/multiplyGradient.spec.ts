import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { relativeL2 } from '../helpers/relativeError';

beforeAll(async () => {
  await startBackend('wasm', { announce: false });
});

describe('Multiply gradient (without float32 casts)', () => {
  test.each([
    ['same shapes', [2, 3, 4], [2, 3, 4]],
    ['broadcast b (a per-channel scale)', [2, 3, 4], [4]],
    ['broadcast both', [2, 1, 4], [1, 3, 1]],
    ['scalar b', [3, 5], []],
  ] as const)('%s: equals dy * other summed over the broadcast axes', async (_name, aShape, bShape) => {
    const a = tf.randomNormal([...aShape], 0, 1, 'float32', 1);
    const b = tf.randomNormal([...bShape], 0, 1, 'float32', 2);
    const out = tf.mul(a, b);
    const dy = tf.randomNormal(out.shape, 0, 1, 'float32', 3);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.mul(x, y))([a, b], dy);
    expect(ga.shape).toEqual(a.shape);
    expect(gb.shape).toEqual(b.shape);
    // Reference by broadcasting explicitly: sum over the expanded axes of dy * other.
    const expand = (t: tf.Tensor) => tf.mul(t, tf.onesLike(out));
    const reduceTo = (t: tf.Tensor, shape: readonly number[]) => {
      const axes = tf.backend_util.getReductionAxes([...shape], out.shape);
      return tf.reshape(axes.length ? tf.sum(t, axes) : t, [...shape]);
    };
    expect(relativeL2(ga, reduceTo(tf.mul(dy, expand(b)), aShape))).toBeLessThan(1e-6);
    expect(relativeL2(gb, reduceTo(tf.mul(dy, expand(a)), bShape))).toBeLessThan(1e-6);
  });

  test('an int32 factor is still cast', () => {
    const a = tf.randomNormal([3, 2]);
    const k = tf.tensor1d([2, 3], 'int32');
    const g = tf.grad((x: tf.Tensor) => tf.mul(x, k))(a, tf.onesLike(a));
    expect(g.dtype).toBe('float32');
    expect(Array.from(g.dataSync())).toEqual([2, 3, 2, 3, 2, 3]);
  });
});
