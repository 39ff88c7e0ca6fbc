import { InvalidOptionError } from '../options/invalidOption';
import * as tf from '@tensorflow/tfjs';
import { ClipModel } from '../models/clipModel';
import { clipImageEmbedding } from './clipScoreLoss';
import { ImageLoss, makeImageLoss } from './imageLoss';

/** Spherical distance 2 asin(||u - v|| / 2)^2 between L2-normalised rows u [B, P] and v [R, P] -> [B, R]. */
export function sphericalDistance(u: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const diff = tf.sub(u.expandDims(1), v.expandDims(0));
    const norm = tf.sqrt(tf.add(tf.sum(tf.square(diff), 2), 1e-12));
    // asin's derivative is infinite at 1; chords of unit vectors are at most 2, so clamp just below.
    const half = tf.clipByValue(tf.div(norm, 2), 0, 1 - 1e-6);
    return tf.mul(tf.square(tf.asin(half)), 2) as tf.Tensor2D;
  });
}

/** Object personalisation: mean spherical distance of CLIP image embeddings to the reference images', summed over the batch. */
export function createObjectLoss(clip: ClipModel, references: tf.Tensor4D[]): ImageLoss {
  if (references.length === 0)
    throw new InvalidOptionError('ref', 'the object loss needs at least one reference image');
  const target = tf.tidy(
    () =>
      tf.concat(
        references.map((r) => clipImageEmbedding(clip, r)),
        0,
      ) as tf.Tensor2D,
  );
  return makeImageLoss(
    'object',
    (image) => tf.sum(tf.mean(sphericalDistance(clipImageEmbedding(clip, image), target), 1)) as tf.Scalar,
    [target],
  );
}
