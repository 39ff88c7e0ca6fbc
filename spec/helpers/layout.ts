import * as tf from '@tensorflow/tfjs';

/** PyTorch NCHW -> our NHWC (rank-4 only; other ranks are unchanged). */
export function toNhwc(t: tf.Tensor): tf.Tensor {
  return t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

/** Our NHWC -> PyTorch NCHW (rank-4 only). */
export function toNchw(t: tf.Tensor): tf.Tensor {
  return t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
}
