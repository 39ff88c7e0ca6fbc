import * as tf from '@tensorflow/tfjs';
import { GenerateCallbacks, Pipeline } from '../pipeline/pipeline';
import { FrameJob } from './frameJob';

export interface StylizedFrame {
  index: number;
  /** The output frame [H, W, C] in [0, 1]; the caller disposes it. */
  image: tf.Tensor3D;
  /** The guidance loss of the output frame (null when the run has no loss). */
  loss: number | null;
  ms: number;
}

/**
 * Runs the frame jobs one after another on one pipeline (each is one img2img generation); `onFrame` sees each
 * frame as it is done. Frames are independent: the same jobs could run on several processes or machines.
 */
export async function stylizeFrames(
  pipeline: Pipeline,
  jobs: FrameJob[],
  callbacks: GenerateCallbacks & { onFrame?: (frame: StylizedFrame, done: number) => void } = {},
): Promise<StylizedFrame[]> {
  const results: StylizedFrame[] = [];
  for (const job of jobs) {
    const start = performance.now();
    const result = await pipeline.generate(job.options, callbacks);
    const image = tf.tidy(() => tf.squeeze(result.images, [0]) as tf.Tensor3D);
    result.images.dispose();
    const frame: StylizedFrame = {
      index: job.index,
      image,
      loss: result.finalLosses.length > 0 ? result.finalLosses[0] : null,
      ms: performance.now() - start,
    };
    results.push(frame);
    callbacks.onFrame?.(frame, results.length);
  }
  return results;
}
