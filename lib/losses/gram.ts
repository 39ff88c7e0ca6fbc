import * as tf from '@tensorflow/tfjs';

/** Gram matrices F^T F of token features [B, N, D] -> [B, D, D]. */
export function gramMatrix(features: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(features, features, true, false);
}

/** Frobenius norm of (G_b - target) for each image b, summed over the batch. */
export function gramDistance(gram: tf.Tensor3D, target: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.sqrt(tf.sum(tf.square(tf.sub(gram, target)), [1, 2]))) as tf.Scalar);
}

/** NHWC feature maps [B, H, W, C] -> tokens [B, H*W, C]. */
export function featureMapTokens(map: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, c] = map.shape;
  return map.reshape([b, h * w, c]);
}
