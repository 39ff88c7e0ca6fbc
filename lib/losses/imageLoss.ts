import * as tf from '@tensorflow/tfjs';

/**
 * A differentiable guidance loss: images [B, H, W, C] in [0, 1] (NHWC) -> scalar, summed over the batch so that
 * each image's gradient does not depend on the batch size. `dispose` frees reference tensors it holds.
 */
export interface ImageLoss {
  readonly name: string;
  (image: tf.Tensor4D): tf.Scalar;
  dispose(): void;
}

export function makeImageLoss(
  name: string,
  fn: (image: tf.Tensor4D) => tf.Scalar,
  held: tf.Tensor[] = [],
): ImageLoss {
  const loss = ((image: tf.Tensor4D) => tf.tidy(() => fn(image))) as ImageLoss;
  Object.defineProperty(loss, 'name', { value: name });
  loss.dispose = () => tf.dispose(held);
  return loss;
}

/** sum_k weight_k * loss_k. Disposing the sum disposes the parts. */
export function weightedSum(parts: { loss: ImageLoss; weight: number }[]): ImageLoss {
  if (parts.length === 0) throw new Error('no guidance loss given');
  if (parts.length === 1 && parts[0].weight === 1) return parts[0].loss;
  const name = parts.map((p) => (p.weight === 1 ? p.loss.name : `${p.weight}*${p.loss.name}`)).join(' + ');
  const sum = makeImageLoss(
    name,
    (image) => tf.addN(parts.map((p) => tf.mul(p.loss(image), p.weight))) as tf.Scalar,
  );
  sum.dispose = () => parts.forEach((p) => p.loss.dispose());
  return sum;
}

/** The loss of each image on its own, as a [num] tensor (caller owns it). */
export function lossPerImage(loss: ImageLoss, images: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.stack(
        Array.from({ length: images.shape[0] }, (_, b) =>
          loss(tf.slice(images, [b, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D),
        ),
      ) as tf.Tensor1D,
  );
}
