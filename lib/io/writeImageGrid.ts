import * as tf from '@tensorflow/tfjs';
import { encodeImage, imageFormatForPath } from './imageFile';
import { imageGrid } from './imageGrid';
import { writeFileAtomically } from './atomicWrite';

export interface ImageGridFileOptions {
  /** Images per row (default: a square grid). */
  columns?: number;
  /** One caption per image, printed under it. */
  captions?: string[];
  /** Enlarge every image k times (nearest neighbour) first, e.g. 4 for 32x32 digits. */
  upscale?: number;
}

/**
 * Writes a batch of images [N, H, W, C] (values in [0, 1], C = 1 or 3, as `Pipeline.generate` returns them) to a
 * .png/.jpg file: the image itself for N = 1 without captions, else a grid. The tensor is not disposed.
 */
export async function writeImageGrid(
  file: string,
  images: tf.Tensor4D,
  options: ImageGridFileOptions = {},
): Promise<void> {
  const format = imageFormatForPath(file);
  const k = options.upscale ?? 1;
  const cells = tf.tidy(() => {
    const [, h, w] = images.shape;
    const scaled = k === 1 ? images : tf.image.resizeNearestNeighbor(images, [h * k, w * k]);
    return tf.unstack(scaled) as tf.Tensor3D[];
  });
  try {
    const single = cells.length === 1 && !options.captions;
    const picture = single
      ? cells[0]
      : await imageGrid(
          cells.map((image, i) => ({ image, caption: options.captions?.[i] })),
          options.columns ?? Math.ceil(Math.sqrt(cells.length)),
        );
    writeFileAtomically(file, await encodeImage(picture, format));
    if (!single) picture.dispose();
  } finally {
    tf.dispose(cells);
  }
}
