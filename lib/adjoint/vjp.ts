import * as tf from '@tensorflow/tfjs';

/**
 * Vector-Jacobian product of f at x with cotangent dy: returns f(x) and J(x)^T dy. One tape lives only for the
 * duration of this call. Caller owns both results.
 */
export function vjp(
  f: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  dy: tf.Tensor,
): { value: tf.Tensor; grad: tf.Tensor } {
  return tf.valueAndGrad(f)(x, dy);
}

/** J(x)^T dy only. Caller owns the result. */
export function vjpGrad(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const { value, grad } = vjp(f, x, dy);
  value.dispose();
  return grad;
}
