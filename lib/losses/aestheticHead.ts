import * as tf from '@tensorflow/tfjs';

/** A linear aesthetic head score = w . e + b on CLIP image embeddings (LAION's linear or MLP predictor). */
export interface AestheticHead {
  weight: Float32Array;
  bias: number;
  /** Whether the head expects L2-normalised embeddings (LAION's predictor does). */
  normalized: boolean;
}

/** Scores [B] of embeddings [B, D]. */
export function aestheticScores(head: AestheticHead, embeddings: tf.Tensor2D): tf.Tensor1D {
  if (embeddings.shape[1] !== head.weight.length) {
    throw new Error(
      `aesthetic head expects ${head.weight.length}-d CLIP embeddings, the CLIP model gives ${embeddings.shape[1]}`,
    );
  }
  return tf.tidy(
    () => tf.add(tf.sum(tf.mul(embeddings, tf.tensor1d(head.weight)), 1), head.bias) as tf.Tensor1D,
  );
}
