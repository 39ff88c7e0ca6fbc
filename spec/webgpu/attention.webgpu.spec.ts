import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { SAG_ATTENTION, SAG_ATTENTION_GRAD, fusedKernelRuns } from '../../lib/kernels';
import {
  MAX_WEBGPU_ATTENTION_HEAD_DIM,
  setWebgpuAttentionPolicy,
} from '../../lib/kernels/attentionWebgpuKernels';
import { describeOnWebgpu } from '../helpers/webgpuSuite';
import { ATTENTION_CASES, expectEqualToPrimitive } from '../kernels/attentionCases';

describeOnWebgpu('the fused attention kernels on webgpu (WGSL: tiles and an online softmax)', () => {
  beforeAll(async () => {
    await startBackend('webgpu', { announce: false });
    // The kernels wherever they can run (the default, unless $SAG_WEBGPU_ATTENTION says otherwise).
    setWebgpuAttentionPolicy('kernel');
  });
  afterAll(() => setWebgpuAttentionPolicy(null));

  test('with SAG_WEBGPU_ATTENTION=primitive the primitive form runs where it fits the device', () => {
    const q = tf.zeros([2, 64, 16]);
    expect(fusedKernelRuns(SAG_ATTENTION, { q, k: q, v: q }, { heads: 2 })).toBe(true);
    setWebgpuAttentionPolicy('primitive');
    expect(fusedKernelRuns(SAG_ATTENTION, { q, k: q, v: q }, { heads: 2 })).toBe(false);
    setWebgpuAttentionPolicy('kernel');
    tf.dispose(q);
  });

  test('the backend has both kernels, and they run', () => {
    expect(tf.getKernel(SAG_ATTENTION, 'webgpu')).toBeDefined();
    expect(tf.getKernel(SAG_ATTENTION_GRAD, 'webgpu')).toBeDefined();
    expect(fusedKernelRuns(SAG_ATTENTION)).toBe(true);
  });

  test.each(ATTENTION_CASES)(
    '%s: forward, gradients and tf.grad through the op equal the primitive form (1e-5), no tensors left',
    async (_name, c) => expectEqualToPrimitive(c),
  );

  test(`heads wider than ${MAX_WEBGPU_ATTENTION_HEAD_DIM} run the primitive form (as the VAE's 512-wide head does)`, async () => {
    const wide = { batch: 1, queries: 20, keys: 20, heads: 1, headDim: MAX_WEBGPU_ATTENTION_HEAD_DIM + 8 };
    const q = tf.zeros([1, 20, wide.headDim]);
    expect(fusedKernelRuns(SAG_ATTENTION, { q, k: q, v: q }, { heads: 1 })).toBe(false);
    expect(fusedKernelRuns(SAG_ATTENTION, { q, k: q, v: q }, { heads: 2 })).toBe(true);
    tf.dispose(q);
    await expectEqualToPrimitive(wide);
  });

  test('more rows than one workgroup and keys over several tiles (VAE-like: one head of 96, 300 tokens)', async () =>
    expectEqualToPrimitive({ batch: 2, queries: 300, keys: 300, heads: 1, headDim: 96 }));
});
