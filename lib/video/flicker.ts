import * as tf from '@tensorflow/tfjs';

/**
 * Flicker of a frame sequence: the mean absolute difference between consecutive frames (pixels in [0, 1]), averaged
 * over the pairs. Comparing a stylized video's with its input's says how much change the stylization added.
 */
export async function flicker(frames: tf.Tensor3D[]): Promise<number> {
  if (frames.length < 2) return 0;
  const differences = tf.tidy(() =>
    tf.stack(frames.slice(1).map((frame, i) => tf.mean(tf.abs(tf.sub(frame, frames[i]))))),
  );
  const values = Array.from(await differences.data());
  differences.dispose();
  return values.reduce((a, b) => a + b, 0) / values.length;
}
