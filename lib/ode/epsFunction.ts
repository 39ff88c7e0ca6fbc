import * as tf from '@tensorflow/tfjs';

/**
 * A noise prediction eps(x, t): x NHWC, t a (possibly fractional) UNet timestep. Must be synchronous and
 * differentiable in x (it is called under tf.grad). Returns a new tensor owned by the caller.
 */
export type EpsFunction = ((x: tf.Tensor, timestep: number) => tf.Tensor) & {
  /**
   * J_eps(x)^T dy without taping the forward, where the model has a converter-written VJP graph: the adjoints use
   * it instead of tf.grad (same values; activations released as soon as used). Caller owns the result.
   */
  vjp?: (x: tf.Tensor, timestep: number, dy: tf.Tensor) => tf.Tensor;
};
