import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { imageFileToTensor } from '../io/imageFile';
import { packageRoot } from '../packageRoot';

/** The shipped digit that moves in the demo video, and the digit whose style the demo borrows. */
export const DEMO_SOURCE_DIGIT = path.join('weights', 'examples', 'digit-style-4.png');
export const DEMO_STYLE_DIGIT = path.join('weights', 'examples', 'digit-style-8.png');

/**
 * The embedded demo "video": the shipped example 4 sliding 8 pixels to the right while it turns by 40 degrees over
 * `count` frames ([32, 32, 3] in [0, 1], black outside the digit). The caller disposes the frames.
 */
export function digitDemoFrames(count: number): tf.Tensor3D[] {
  const digit = imageFileToTensor(path.join(packageRoot(), DEMO_SOURCE_DIGIT), 3);
  const [height, width] = [digit.shape[1], digit.shape[2]];
  const [cx, cy] = [(width - 1) / 2, (height - 1) / 2];
  const frames = Array.from({ length: count }, (_, k) => {
    const progress = count === 1 ? 0 : k / (count - 1);
    const angle = ((-20 + 40 * progress) * Math.PI) / 180;
    const [tx, ty] = [-4 + 8 * progress, 0];
    const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
    // tf.image.transform maps each output pixel to the input pixel it samples: rotate back about the centre.
    const inverse = [
      cos,
      sin,
      cx - cos * (cx + tx) - sin * (cy + ty),
      -sin,
      cos,
      cy + sin * (cx + tx) - cos * (cy + ty),
      0,
      0,
    ];
    return tf.tidy(
      () =>
        tf.squeeze(
          tf.image.transform(digit, tf.tensor2d([inverse]), 'bilinear', 'constant', 0),
          [0],
        ) as tf.Tensor3D,
    );
  });
  digit.dispose();
  return frames;
}
