import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { activeNativeMatrixProducts, setNativeMatrixProducts } from '../../lib/backend/nativeMatrixProducts';
import {
  SAG_ATTENTION,
  SAG_ATTENTION_GRAD,
  attention,
  attentionGradient,
  attentionPrimitive,
  fusedKernelRuns,
} from '../../lib/kernels';
import { relativeL2 } from '../helpers/relativeError';
import { ATTENTION_CASES, attentionInputs, attrsOf, expectEqualToPrimitive } from './attentionCases';
import { nativeBlasAvailability } from '../../lib/backend/nativeBlas';

beforeAll(async () => {
  await startBackend('cpu', { announce: false });
  await startBackend('wasm', { announce: false });
});

describe('the fused attention kernels on cpu (JavaScript loops)', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  test('the backend has both kernels, and they run', () => {
    expect(tf.getKernel(SAG_ATTENTION, 'cpu')).toBeDefined();
    expect(tf.getKernel(SAG_ATTENTION_GRAD, 'cpu')).toBeDefined();
    expect(fusedKernelRuns(SAG_ATTENTION)).toBe(true);
  });

  test.each(ATTENTION_CASES)(
    '%s: forward, gradients and tf.grad through the op equal the primitive form (1e-5), no tensors left',
    async (_name, c) => expectEqualToPrimitive(c),
  );
});

// Whether the addon is built here, known before the tests are collected: without it they are jest skips.
const nativeAddon = nativeBlasAvailability();
const withAddon = typeof nativeAddon === 'string' ? test.skip : test;
if (typeof nativeAddon === 'string')
  process.stdout.write(`fused attention on wasm: addon cases SKIPPED (${nativeAddon})\n`);

describe("the fused attention kernels on wasm (sag's native addon)", () => {
  let saved: ReturnType<typeof activeNativeMatrixProducts> = null;
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    saved = activeNativeMatrixProducts();
  });
  afterAll(() => setNativeMatrixProducts(saved));

  test('without the addon the kernels do not run: the primitive form (on XNNPACK) does', () => {
    setNativeMatrixProducts(null);
    expect(fusedKernelRuns(SAG_ATTENTION)).toBe(false);
    expect(fusedKernelRuns(SAG_ATTENTION_GRAD)).toBe(false);
    setNativeMatrixProducts(saved);
  });

  withAddon.each(ATTENTION_CASES)(
    '%s: forward, gradients and tf.grad through the op equal the primitive form (1e-5), no tensors left',
    async (_name, c) => {
      expect(fusedKernelRuns(SAG_ATTENTION)).toBe(true);
      await expectEqualToPrimitive(c);
    },
  );

  withAddon(
    'long sequences are processed in chunks of query rows (1100 keys: 238 rows per chunk)',
    async () => {
      await expectEqualToPrimitive({ batch: 1, queries: 600, keys: 1100, heads: 2, headDim: 8 });
    },
  );

  withAddon(
    'identical images in a batch give identical outputs and gradients (batch invariance)',
    async () => {
      const c = { batch: 1, queries: 300, keys: 900, heads: 2, headDim: 16 };
      const one = attentionInputs(c);
      const twice = tf.tidy(() =>
        Object.fromEntries(Object.entries(one).map(([k, t]) => [k, tf.concat([t, t])])),
      );
      const attrs = attrsOf(c);
      const out = attention(twice.q, twice.k, twice.v, attrs);
      const grads = attentionGradient(twice.q, twice.k, twice.v, twice.dy, { ...attrs, gradients: 'qkv' });
      for (const t of [out, ...grads]) {
        const [first, second] = tf.split(t, 2);
        expect(Array.from(await first.data())).toEqual(Array.from(await second.data()));
        tf.dispose([first, second]);
      }
      tf.dispose([...Object.values(one), ...Object.values(twice), out, ...grads]);
    },
  );
});

test('the gradients agree with central differences of the forward (cpu, float32)', async () => {
  await tf.setBackend('cpu');
  const c = { batch: 2, queries: 5, keys: 6, heads: 2, headDim: 3 };
  const { q, k, v, dy } = attentionInputs(c, 60);
  const attrs = attrsOf(c);
  const directions = attentionInputs(c, 70);
  const h = 1e-2;
  const loss = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(attention(a, b, d, attrs), dy));
  const shifted = (sign: number) =>
    loss(
      tf.add(q, tf.mul(directions.q, sign * h)),
      tf.add(k, tf.mul(directions.k, sign * h)),
      tf.add(v, tf.mul(directions.v, sign * h)),
    );
  const numeric = tf.tidy(() => tf.div(tf.sub(shifted(1), shifted(-1)), 2 * h));
  const analytic = tf.tidy(() => {
    const [dq, dk, dv] = attentionGradient(q, k, v, dy, { ...attrs, gradients: 'qkv' });
    return tf.addN([
      tf.sum(tf.mul(dq, directions.q)),
      tf.sum(tf.mul(dk, directions.k)),
      tf.sum(tf.mul(dv, directions.v)),
    ]);
  });
  const [n, a] = [(await numeric.data())[0], (await analytic.data())[0]];
  expect(Math.abs(n - a) / Math.abs(a)).toBeLessThan(1e-3);
  tf.dispose([q, k, v, dy, ...Object.values(directions), numeric, analytic]);
});

test('a backend without the kernels (here: with them unregistered) runs the primitive form', async () => {
  await tf.setBackend('cpu');
  const kernels = [SAG_ATTENTION, SAG_ATTENTION_GRAD].map(
    (name) => tf.getKernel(name, 'cpu') as tf.KernelConfig,
  );
  try {
    kernels.forEach((kernel) => tf.unregisterKernel(kernel.kernelName, 'cpu'));
    const c = { batch: 1, queries: 3, keys: 4, heads: 2, headDim: 2 };
    const { q, k, v, dy } = attentionInputs(c);
    const viaOp = attention(q, k, v, attrsOf(c));
    const primitive = attentionPrimitive(q, k, v, attrsOf(c));
    expect(Array.from(await viaOp.data())).toEqual(Array.from(await primitive.data()));
    const [dk] = attentionGradient(q, k, v, dy, { ...attrsOf(c), gradients: 'k' });
    const [viaTape] = tf.grads((b: tf.Tensor) => attentionPrimitive(q, b, v, attrsOf(c)))([k], dy);
    expect(relativeL2(await dk.data(), await viaTape.data())).toBeLessThan(1e-6);
    tf.dispose([q, k, v, dy, viaOp, primitive, dk, viaTape]);
  } finally {
    kernels.forEach((kernel) => tf.registerKernel(kernel));
  }
});

test('shapes or gradients the op cannot take are one clear error', async () => {
  await tf.setBackend('cpu');
  const q = tf.zeros([1, 3, 6]);
  const k = tf.zeros([1, 4, 4]);
  expect(() => attention(q, k, k, { heads: 2, scale: 1 })).toThrow(
    /expected q \[B, Tq, C\], k and v \[B, Tk, C\]/,
  );
  expect(() => attentionGradient(q, q, q, q, { heads: 2, scale: 1, gradients: 'vq' })).toThrow(
    /subsequence of 'qkv'/,
  );
  tf.dispose([q, k]);
});
