import * as tf from '@tensorflow/tfjs';
import { ArcfaceModel } from '../models/arcfaceModel';
import { resizeBilinear, separableSpatialMap } from '../nn/bilinearResize';
import { ImageLoss, makeImageLoss } from './imageLoss';

/** [out, in] matrix of PyTorch's AdaptiveAvgPool1d: row i averages inputs floor(i in / out) .. ceil((i+1) in / out) - 1. */
export function adaptiveAveragePoolMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.ceil(((i + 1) * inSize) / outSize);
    for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
  }
  return m;
}

/**
 * FreeDoM's face preprocessing for ArcFace: resize to 256, crop rows 35:223 and columns 32:220, adaptive
 * average-pool to the model's input size, scale [0, 1] -> [-1, 1].
 */
export function arcfaceInput(image: tf.Tensor4D, outSize: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    let x = image.shape[3] === 1 ? tf.tile(image, [1, 1, 1, 3]) : image;
    x = resizeBilinear(x as tf.Tensor4D, [256, 256]);
    const crop = tf.slice(x, [0, 35, 32, 0], [-1, 188, 188, -1]) as tf.Tensor4D;
    const rows = tf.tensor2d(adaptiveAveragePoolMatrix(188, outSize[0]), [outSize[0], 188]);
    const cols = tf.tensor2d(adaptiveAveragePoolMatrix(188, outSize[1]), [outSize[1], 188]);
    return tf.sub(tf.mul(separableSpatialMap(crop, rows, cols), 2), 1) as tf.Tensor4D;
  });
}

function normalizedEmbedding(arcface: ArcfaceModel, image: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const e = arcface.embed(arcfaceInput(image, arcface.inputSize));
    return tf.div(e, tf.sqrt(tf.add(tf.sum(tf.square(e), 1, true), 1e-12))) as tf.Tensor2D;
  });
}

/** Face identity: L2 distance between normalised ArcFace embeddings of each image and the reference face, summed. */
export function createFaceIdLoss(arcface: ArcfaceModel, reference: tf.Tensor4D): ImageLoss {
  const target = normalizedEmbedding(arcface, reference);
  return makeImageLoss(
    'face',
    (image) =>
      tf.sum(
        tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(normalizedEmbedding(arcface, image), target)), 1), 1e-12)),
      ) as tf.Scalar,
    [target],
  );
}
