import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { relativeL2 } from '../helpers/relativeError';

beforeAll(async () => {
  await startBackend('wasm', { announce: false });
});

async function product(
  backend: 'cpu' | 'wasm',
  aShape: number[],
  bShape: number[],
  transposeA: boolean,
  transposeB: boolean,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  const a = tf.randomNormal(aShape, 0, 1, 'float32', 1);
  const b = tf.randomNormal(bShape, 0, 1, 'float32', 2);
  const y = tf.matMul(a, b, transposeA, transposeB);
  const values = (await y.data()) as Float32Array;
  tf.dispose([a, b, y]);
  return values;
}

describe('wasm BatchMatMul with transposed operands (laid out first, then a plain product)', () => {
  test.each([
    ['2-D, b transposed', [5, 7], [3, 7], false, true],
    ['2-D, a transposed', [7, 5], [7, 3], true, false],
    ['2-D, both', [7, 5], [3, 7], true, true],
    ['3-D against a 2-D weight, b transposed', [2, 6, 4], [9, 4], false, true],
    ['4-D attention scores q k^T', [1, 3, 10, 4], [1, 3, 12, 4], false, true],
    ['4-D, a transposed', [2, 3, 4, 10], [2, 3, 4, 6], true, false],
    ['broadcast batch', [2, 3, 5, 4], [1, 3, 6, 4], false, true],
    ['a batch against one matrix (folded into rows)', [4, 6, 5], [5, 3], false, false],
    ['4-D batch against a [1, 1, k, n] matrix', [2, 3, 6, 5], [1, 1, 5, 3], false, false],
    ['3-D batch against a higher-rank [1, 1, k, n] matrix', [3, 6, 5], [1, 1, 5, 3], false, false],
    ['folded, b transposed', [4, 6, 5], [3, 5], false, true],
  ] as const)('%s equals cpu', async (_name, aShape, bShape, ta, tb) => {
    const cpu = await product('cpu', [...aShape], [...bShape], ta, tb);
    const before = (await tf.setBackend('wasm'), tf.memory().numTensors);
    const wasm = await product('wasm', [...aShape], [...bShape], ta, tb);
    expect(tf.memory().numTensors).toBe(before);
    expect(relativeL2(wasm, cpu)).toBeLessThan(1e-6);
  });

  test('the laid-out copies are freed: wasm memory does not grow over repeated products', async () => {
    await tf.setBackend('wasm');
    const a = tf.randomNormal([64, 32]);
    const b = tf.randomNormal([48, 32]);
    const batched = tf.randomNormal([4, 16, 32]);
    const products = () => {
      tf.matMul(a, b, false, true).dispose();
      tf.matMul(batched, b, false, true).dispose();
    };
    products();
    const before = tf.memory().numBytes;
    const wasmBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const heap = wasmBytes();
    for (let i = 0; i < 20; i++) products();
    expect(tf.memory().numBytes).toBe(before);
    expect(wasmBytes()).toBe(heap);
    tf.dispose([a, b, batched]);
  });

  test('gradients through a transposed product equal cpu', async () => {
    const grads = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
      const w = tf.randomNormal([6, 4], 0, 1, 'float32', 4);
      const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(xx, ww, false, true))),
      )([x, w]);
      const values = [await gx.data(), await gw.data()];
      tf.dispose([x, w, gx, gw]);
      return values;
    };
    const [cx, cw] = await grads('cpu');
    const [wx, ww] = await grads('wasm');
    expect(relativeL2(wx, cx)).toBeLessThan(1e-6);
    expect(relativeL2(ww, cw)).toBeLessThan(1e-6);
  });
});
