import * as tf from '@tensorflow/tfjs';
import { GroupNormAttrs, groupNorm, groupNormInputGradient, groupNormPrimitive } from '../../lib/kernels';
import { relativeL2 } from '../helpers/relativeError';

/** Shapes and settings the fused GroupNorm kernels are checked on (odd sizes, one group, one channel per group). */
export const GROUP_NORM_CASES: [string, number[], GroupNormAttrs][] = [
  ['silu, 2 images, 4 groups', [2, 5, 3, 8], { groups: 4, epsilon: 1e-5, activation: 'silu' }],
  ['no activation, 1 group', [1, 4, 4, 6], { groups: 1, epsilon: 1e-6, activation: 'none' }],
  [
    'silu, one channel per group, tokens [B, T, C]',
    [3, 14, 5],
    { groups: 5, epsilon: 1e-5, activation: 'silu' },
  ],
  ['silu, SD-like 32 groups of 10', [1, 8, 8, 320], { groups: 32, epsilon: 1e-5, activation: 'silu' }],
];

function inputs(shape: number[]) {
  const channels = shape[shape.length - 1];
  return tf.tidy(() => ({
    // An offset and scale so that the statistics matter.
    x: tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 11), 3), 1.5),
    gamma: tf.randomNormal([channels], 1, 0.5, 'float32', 12),
    beta: tf.randomNormal([channels], 0, 0.5, 'float32', 13),
    dy: tf.randomNormal(shape, 0, 1, 'float32', 14),
  }));
}

export interface GroupNormComparison {
  forward: number;
  gradient: number;
}

/**
 * On the current backend: the fused forward against the primitive form, and the fused input gradient (the kernel,
 * and tf.grad through the fused op) against tf.grad of the primitive form; relative L2 errors.
 */
export async function compareWithPrimitive(shape: number[], attrs: GroupNormAttrs) {
  const { x, gamma, beta, dy } = inputs(shape);
  const fused = groupNorm(x, gamma, beta, attrs);
  const primitive = groupNormPrimitive(x, gamma, beta, attrs);
  const kernelGradient = groupNormInputGradient(x, gamma, beta, dy, attrs);
  const gradThroughOp = tf.grad((v: tf.Tensor) => groupNorm(v, gamma, beta, attrs))(x, dy);
  const primitiveGradient = tf.grad((v: tf.Tensor) => groupNormPrimitive(v, gamma, beta, attrs))(x, dy);
  const [f, p, k, t, r] = await Promise.all(
    [fused, primitive, kernelGradient, gradThroughOp, primitiveGradient].map(
      (v) => v.data() as Promise<Float32Array>,
    ),
  );
  tf.dispose([x, gamma, beta, dy, fused, primitive, kernelGradient, gradThroughOp, primitiveGradient]);
  return { forward: relativeL2(f, p), gradient: relativeL2(k, r), gradThroughOp: relativeL2(t, r) };
}

/** Expects compareWithPrimitive's three errors below 1e-6 and no tensor left behind. */
export async function expectEqualToPrimitive(shape: number[], attrs: GroupNormAttrs): Promise<void> {
  const before = tf.memory().numTensors;
  const errors = await compareWithPrimitive(shape, attrs);
  expect(errors.forward).toBeLessThan(1e-6);
  expect(errors.gradient).toBeLessThan(1e-6);
  expect(errors.gradThroughOp).toBeLessThan(1e-6);
  expect(tf.memory().numTensors).toBe(before);
}
