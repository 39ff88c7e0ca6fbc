import * as tf from '@tensorflow/tfjs';

/**
 * tf.tidy for functions returning objects that hold tensors alongside plain values or nulls (tfjs's typing
 * rejects null members, its runtime accepts them). Tensors reachable from the result are kept.
 */
export function tidyResult<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
