import * as tf from '@tensorflow/tfjs';

/**
 * GroupNorm over an NHWC tensor (no affine). Written with sub + square + mean: tfjs's SquaredDifference gradient
 * (used by tf.moments) ignores broadcasting.
 */
export function groupNorm(x: tf.Tensor4D, groups: number, epsilon = 1e-5): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels are not divisible into ${groups} groups`);
  return tf.tidy(() => {
    const grouped = x.reshape([n, h * w, groups, c / groups]);
    const mean = tf.mean(grouped, [1, 3], true);
    const centered = tf.sub(grouped, mean);
    const variance = tf.mean(tf.square(centered), [1, 3], true);
    return tf.mul(centered, tf.rsqrt(tf.add(variance, epsilon))).reshape([n, h, w, c]) as tf.Tensor4D;
  });
}
