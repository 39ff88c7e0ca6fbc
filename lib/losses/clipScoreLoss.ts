import * as tf from '@tensorflow/tfjs';
import { ClipModel } from '../models/clipModel';
import { clipPixelValues } from './clipPreprocess';
import { ImageLoss, makeImageLoss } from './imageLoss';

/** L2-normalised CLIP text embedding [1, P] of a prompt. Caller owns it. */
export function clipTextEmbedding(clip: ClipModel, text: string): tf.Tensor2D {
  if (!clip.tokenizer)
    throw new Error(`${clip.dir}: this CLIP conversion has no tokenizer files, so it cannot score text`);
  const { ids } = clip.tokenizer.encode(text);
  return tf.tidy(() => clip.text(tf.tensor2d([ids], [1, ids.length], 'int32')) as tf.Tensor2D);
}

/** L2-normalised CLIP image embeddings [B, P] of images in [0, 1]. */
export function clipImageEmbedding(clip: ClipModel, image: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const out = clip.image(clipPixelValues(image, clip.imageSize, clip.imageMean, clip.imageStd));
    return out.imageEmbeds as tf.Tensor2D;
  });
}

/** CLIP score 100 * cos(image, text) per image [B]. */
export function clipScores(clip: ClipModel, image: tf.Tensor4D, textEmbedding: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(
    () => tf.mul(tf.sum(tf.mul(clipImageEmbedding(clip, image), textEmbedding), 1), 100) as tf.Tensor1D,
  );
}

/** Guidance towards a text: -CLIP score, summed over the batch. */
export function createClipScoreLoss(clip: ClipModel, text: string): ImageLoss {
  const target = clipTextEmbedding(clip, text);
  return makeImageLoss('clip', (image) => tf.neg(tf.sum(clipScores(clip, image, target))) as tf.Scalar, [
    target,
  ]);
}
