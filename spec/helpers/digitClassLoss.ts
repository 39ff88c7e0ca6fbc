import * as tf from '@tensorflow/tfjs';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { PixelDenoiser } from '../../lib/pipeline/pixelDenoiser';

/**
 * -sum_b log p(target | image_b) on the clean sample, written out here (not the library's classifier loss) so
 * that tests comparing guidance methods with their papers' formulas share one independent loss.
 */
export function digitClassLoss(
  classifier: ImageClassifier,
  denoiser: PixelDenoiser,
  target: number,
): (x0: tf.Tensor) => tf.Scalar {
  return (x0) =>
    tf.tidy(
      () =>
        tf.neg(
          tf.sum(tf.slice(tf.logSoftmax(classifier.logits(denoiser.toImage(x0))), [0, target], [-1, 1])),
        ) as tf.Scalar,
    );
}
