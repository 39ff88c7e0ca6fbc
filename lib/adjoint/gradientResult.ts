import * as tf from '@tensorflow/tfjs';

/** A differentiable loss on the clean estimate (in sampler space): x0hat -> scalar. */
export type LossOnEstimate = (x0hat: tf.Tensor) => tf.Scalar;

export interface EstimateGradient {
  /** dL/dx_t; the caller owns it. */
  grad: tf.Tensor;
  /** The clean estimate x0hat; the caller owns it. */
  x0hat: tf.Tensor;
  /** L(x0hat), kept on the device (read it with readScalar); the caller owns it. */
  loss: tf.Scalar;
}

export interface EstimateGradientOptions {
  /** eps(x_t, t) already computed by the main sampler (borrowed); used by methods that run the forward pass untaped. */
  eps0?: tf.Tensor;
}

/** L and dL/dx0hat at x0hat. Caller owns both. */
export function lossAndCotangent(
  loss: LossOnEstimate,
  x0hat: tf.Tensor,
): { value: tf.Scalar; grad: tf.Tensor } {
  const { value, grad } = tf.valueAndGrad(loss)(x0hat);
  return { value: value as tf.Scalar, grad };
}
