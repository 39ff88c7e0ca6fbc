import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { SAG_GROUP_NORM, SAG_GROUP_NORM_GRAD } from '../../lib/kernels';
import { describeOnWebgpu } from '../helpers/webgpuSuite';
import { GROUP_NORM_CASES, expectEqualToPrimitive } from '../kernels/groupNormCases';

describeOnWebgpu(
  'the fused GroupNorm kernels on webgpu (WGSL: a statistics pass and an elementwise pass)',
  () => {
    beforeAll(async () => {
      await startBackend('webgpu', { announce: false });
    });

    test('the backend has both kernels', () => {
      expect(tf.getKernel(SAG_GROUP_NORM, 'webgpu')).toBeDefined();
      expect(tf.getKernel(SAG_GROUP_NORM_GRAD, 'webgpu')).toBeDefined();
    });

    test.each(GROUP_NORM_CASES)(
      '%s: forward, input gradient and tf.grad through the op equal the primitive form (1e-6), no tensors left',
      async (_name, shape, attrs) => expectEqualToPrimitive(shape, attrs),
    );

    test('a group larger than one workgroup pass (64x64 pixels, 2 groups of 3 channels)', async () =>
      expectEqualToPrimitive([1, 64, 64, 6], { groups: 2, epsilon: 1e-5, activation: 'silu' }));
  },
);
