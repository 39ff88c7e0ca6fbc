import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { activeNativeMatrixProducts, setNativeMatrixProducts } from '../../lib/backend/nativeMatrixProducts';
import {
  SAG_GROUP_NORM,
  SAG_GROUP_NORM_GRAD,
  groupNorm,
  groupNormInputGradient,
  groupNormPrimitive,
} from '../../lib/kernels';
import { relativeL2 } from '../helpers/relativeError';
import { GROUP_NORM_CASES, expectEqualToPrimitive } from './groupNormCases';

beforeAll(async () => {
  await startBackend('cpu', { announce: false });
  await startBackend('wasm', { announce: false });
});

// wasm runs sag's native addon when it is built (native/build.mjs), else the JavaScript loops; both are tested
// where the addon exists.
const nativeKernels = () => activeNativeMatrixProducts();
describe.each([
  ['cpu', 'cpu', false],
  ['wasm', 'wasm', false],
  ['wasm, native addon', 'wasm', true],
] as const)('the fused GroupNorm kernels on %s', (_label, backend, native) => {
  let saved: ReturnType<typeof nativeKernels> = null;
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    saved = nativeKernels();
    if (native && !saved)
      console.log('the native addon is not built: its GroupNorm cases run the JavaScript loops');
    if (!native) setNativeMatrixProducts(null);
  });
  afterAll(() => setNativeMatrixProducts(saved));

  test('the backend has both kernels', () => {
    expect(tf.getKernel(SAG_GROUP_NORM, backend)).toBeDefined();
    expect(tf.getKernel(SAG_GROUP_NORM_GRAD, backend)).toBeDefined();
  });

  test.each(GROUP_NORM_CASES)(
    '%s: forward, input gradient and tf.grad through the op equal the primitive form (1e-6), no tensors left',
    async (_name, shape, attrs) => expectEqualToPrimitive(shape, attrs),
  );
});

test('the input gradient agrees with central differences of the forward (cpu, float32)', async () => {
  await tf.setBackend('cpu');
  const attrs = { groups: 2, epsilon: 1e-5, activation: 'silu' as const };
  const [x, gamma, beta, dy, direction] = tf.tidy(() => [
    tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 21),
    tf.randomNormal([4], 1, 0.3, 'float32', 22),
    tf.randomNormal([4], 0, 0.3, 'float32', 23),
    tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 24),
    tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 25),
  ]);
  const h = 1e-2;
  const loss = (v: tf.Tensor) => tf.sum(tf.mul(groupNorm(v, gamma, beta, attrs), dy));
  const numeric = tf.tidy(() =>
    tf.div(tf.sub(loss(tf.add(x, tf.mul(direction, h))), loss(tf.sub(x, tf.mul(direction, h)))), 2 * h),
  );
  const analytic = tf.tidy(() =>
    tf.sum(tf.mul(groupNormInputGradient(x, gamma, beta, dy, attrs), direction)),
  );
  const [n, a] = [(await numeric.data())[0], (await analytic.data())[0]];
  expect(Math.abs(n - a) / Math.abs(a)).toBeLessThan(1e-3);
  tf.dispose([x, gamma, beta, dy, direction, numeric, analytic]);
});

test('a backend without the kernels (here: with them unregistered) runs the primitive form and its written-out gradient', async () => {
  await tf.setBackend('cpu');
  const kernels = [SAG_GROUP_NORM, SAG_GROUP_NORM_GRAD].map(
    (name) => tf.getKernel(name, 'cpu') as tf.KernelConfig,
  );
  try {
    kernels.forEach((k) => tf.unregisterKernel(k.kernelName, 'cpu'));
    const attrs = { groups: 2, epsilon: 1e-5, activation: 'silu' as const };
    const x = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 31);
    const gamma = tf.ones([4]);
    const beta = tf.zeros([4]);
    const dy = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 32);
    const viaOp = groupNorm(x, gamma, beta, attrs);
    const primitive = groupNormPrimitive(x, gamma, beta, attrs);
    expect(Array.from(await viaOp.data())).toEqual(Array.from(await primitive.data()));
    // The gradient written out in primitive ops, against tf.grad through the primitive forward.
    const gradient = groupNormInputGradient(x, gamma, beta, dy, attrs);
    const viaTape = tf.grad((v: tf.Tensor) => groupNormPrimitive(v, gamma, beta, attrs))(x, dy);
    expect(relativeL2(await gradient.data(), await viaTape.data())).toBeLessThan(1e-6);
    tf.dispose([x, gamma, beta, dy, viaOp, primitive, gradient, viaTape]);
  } finally {
    kernels.forEach((k) => tf.registerKernel(k));
  }
});

test('a shape the kernels cannot take is one clear error', async () => {
  await tf.setBackend('cpu');
  const x = tf.zeros([1, 2, 2, 6]);
  const gamma = tf.ones([6]);
  expect(() => groupNorm(x, gamma, gamma, { groups: 4, epsilon: 1e-5, activation: 'none' })).toThrow(
    /channels divisible by 4 groups/,
  );
  tf.dispose([x, gamma]);
});
