import * as tf from '@tensorflow/tfjs';
import { resizeBilinear } from '../nn/bilinearResize';

/**
 * Images in [0, 1] -> CLIP pixel values: gray images repeated to RGB, bilinear resize to the model's size
 * (half-pixel centres, exact gradient), normalised with CLIP's mean and std. (The released SAG code normalises [0, 1] images with
 * constants meant for [-1, 1]; this project uses CLIP's own preprocessing.)
 */
export function clipPixelValues(
  image: tf.Tensor4D,
  size: number,
  mean: number[],
  std: number[],
): tf.Tensor4D {
  return tf.tidy(() => {
    let rgb = image.shape[3] === 1 ? tf.tile(image, [1, 1, 1, 3]) : image;
    rgb = resizeBilinear(rgb as tf.Tensor4D, [size, size]);
    return tf.div(tf.sub(rgb, tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor4D;
  });
}
