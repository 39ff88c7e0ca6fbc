import * as tf from '@tensorflow/tfjs';

/**
 * Images [num, H, W, C] in [0, 1] stacked into one unscaled canvas (a 1-pixel white gap between them): a column,
 * or a row. Borrows the tensor.
 */
export async function renderStrip(
  images: tf.Tensor4D,
  direction: 'column' | 'row',
): Promise<HTMLCanvasElement> {
  const axis = direction === 'column' ? 0 : 1;
  const strip = tf.tidy(() => {
    const gap: [number, number][] =
      axis === 0
        ? [
            [0, 1],
            [0, 0],
            [0, 0],
          ]
        : [
            [0, 0],
            [0, 1],
            [0, 0],
          ];
    return tf.concat(
      tf.unstack(images).map((image) => tf.pad(image, gap, 1)),
      axis,
    ) as tf.Tensor3D;
  });
  const canvas = document.createElement('canvas');
  try {
    await tf.browser.toPixels(strip, canvas);
  } finally {
    strip.dispose();
  }
  return canvas;
}

/** Paints `source` onto `target` `scale` times larger, nearest neighbour (pixels stay pixels). */
export function paintScaled(target: HTMLCanvasElement, source: HTMLCanvasElement, scale: number): void {
  target.width = source.width * scale;
  target.height = source.height * scale;
  const context = target.getContext('2d') as CanvasRenderingContext2D;
  context.imageSmoothingEnabled = false;
  context.drawImage(source, 0, 0, target.width, target.height);
}

/** Images [num, H, W, C] in [0, 1] as the bytes a PNG of them holds (round(clip(x) * 255)), one array per image. */
export async function imageBytes(images: tf.Tensor4D): Promise<number[][]> {
  const bytes = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(images, 0, 1), 255)));
  const values = await bytes.data();
  bytes.dispose();
  const per = values.length / images.shape[0];
  return Array.from({ length: images.shape[0] }, (_, i) =>
    Array.from(values.subarray(i * per, (i + 1) * per)),
  );
}
