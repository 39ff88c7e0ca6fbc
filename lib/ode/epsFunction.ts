import * as tf from '@tensorflow/tfjs';

/**
 * A noise prediction eps(x, t): x NHWC, t a (possibly fractional) UNet timestep. Must be synchronous and
 * differentiable in x (it is called under tf.grad). Returns a new tensor owned by the caller.
 */
export type EpsFunction = (x: tf.Tensor, timestep: number) => tf.Tensor;
