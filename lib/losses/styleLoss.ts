import * as tf from '@tensorflow/tfjs';
import { ClipModel } from '../models/clipModel';
import { clipPixelValues } from './clipPreprocess';
import { gramDistance, gramMatrix } from './gram';
import { ImageLoss, makeImageLoss } from './imageLoss';

/** Patch tokens (CLS dropped) of CLIP vision hidden state `layer` for images in [0, 1]. */
export function clipPatchTokens(clip: ClipModel, image: tf.Tensor4D, layer: number): tf.Tensor3D {
  return tf.tidy(() => {
    const { imageEmbeds, hiddenStates } = clip.image(
      clipPixelValues(image, clip.imageSize, clip.imageMean, clip.imageStd),
      [layer],
    );
    imageEmbeds.dispose();
    const hidden = hiddenStates.get(layer) as tf.Tensor3D;
    return tf.slice(hidden, [0, 1, 0], [-1, -1, -1]) as tf.Tensor3D;
  });
}

/**
 * Style loss (FreeDoM / SAG): Frobenius norm of the difference between the Gram matrix of CLIP hidden state
 * `layer`'s patch tokens and the style image's, per image, summed over the batch.
 */
export function createStyleLoss(clip: ClipModel, styleImage: tf.Tensor4D, layer = 3): ImageLoss {
  const target = tf.tidy(() => gramMatrix(clipPatchTokens(clip, styleImage, layer)));
  return makeImageLoss(
    'style',
    (image) => gramDistance(gramMatrix(clipPatchTokens(clip, image, layer)), target as tf.Tensor3D),
    [target],
  );
}
