import { InvalidOptionError } from '../options/invalidOption';
import * as tf from '@tensorflow/tfjs';
import { ImageClassifier } from '../models/imageClassifier';
import { featureMapTokens, gramDistance, gramMatrix } from './gram';
import { ImageLoss, makeImageLoss } from './imageLoss';

/** Cross-entropy of the target label under an image classifier, summed over the batch. */
export function createClassifierLoss(classifier: ImageClassifier, target: number): ImageLoss {
  if (!Number.isInteger(target) || target < 0 || target >= classifier.classes) {
    throw new InvalidOptionError(
      'target',
      `expected a class index in 0..${classifier.classes - 1}, got ${target}`,
    );
  }
  return makeImageLoss('class', (image) => {
    const logSoftmax = tf.logSoftmax(classifier.logits(image));
    return tf.neg(tf.sum(tf.slice(logSoftmax, [0, target], [-1, 1]))) as tf.Scalar;
  });
}

/** Style from a classifier's feature map: Gram distance to the reference image's, per image, summed. */
export function createClassifierStyleLoss(classifier: ImageClassifier, styleImage: tf.Tensor4D): ImageLoss {
  const target = tf.tidy(() => gramMatrix(featureMapTokens(classifier.features(styleImage))));
  return makeImageLoss(
    'style',
    (image) => gramDistance(gramMatrix(featureMapTokens(classifier.features(image))), target as tf.Tensor3D),
    [target],
  );
}
