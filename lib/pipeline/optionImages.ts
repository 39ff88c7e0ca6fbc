import * as tf from '@tensorflow/tfjs';
import { InvalidOptionError } from '../options/invalidOption';

export type ImageOptionName = 'style' | 'ref' | 'initImage' | 'control';

/**
 * Reads the image an option names as [1, H, W, 3] in [0, 1] (resized to `size` when given); the caller owns it.
 * In Node the name is a file (`readOptionImageFile`); in a browser, a key of images the page decoded
 * (`namedOptionImages`).
 */
export type OptionImageReader = (
  option: ImageOptionName,
  name: string,
  size?: [number, number],
) => tf.Tensor4D;

/** Images held as tensors under names (e.g. decoded by a page); the reader returns resized copies. */
export function namedOptionImages(images: Record<string, tf.Tensor4D>): OptionImageReader {
  return (option, name, size) => {
    const image = images[name];
    if (!image) throw new InvalidOptionError(option, `no image named ${JSON.stringify(name)}`);
    return tf.tidy(() => {
      const rgb = image.shape[3] === 3 ? image : tf.tile(image, [1, 1, 1, 3]);
      return size ? tf.image.resizeBilinear(rgb, size, true) : rgb.clone();
    });
  };
}
