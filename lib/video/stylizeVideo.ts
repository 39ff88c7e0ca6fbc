import * as tf from '@tensorflow/tfjs';
import { imageFileToTensor } from '../io/imageFile';
import { CrossFrameMode } from '../models/frameMix';
import { GenerateOptions } from '../options/generateOptions';
import { GenerateCallbacks, Pipeline } from '../pipeline/pipeline';
import { FrameJob } from './frameJob';

export interface StylizedFrame {
  index: number;
  /** The output frame [H, W, C] in [0, 1]; the caller disposes it. */
  image: tf.Tensor3D;
  /** The guidance loss of the output frame (null when the run has no loss). */
  loss: number | null;
  /** This frame's share of its batch's time. */
  ms: number;
}

export interface StylizeFramesOptions extends GenerateCallbacks {
  /**
   * Frames per generation (default 1). A batch runs as one generation of `batch` images, each from its own frame
   * (and condition image) and all from the same noise; the guidance step size (rho) is then one for the batch, so
   * results differ slightly from one frame at a time.
   */
  batch?: number;
  /** Cross-frame attention within each batch (its frames in video order); null: none. */
  crossFrame?: CrossFrameMode | null;
  onFrame?: (frame: StylizedFrame, done: number) => void;
}

/** The options a batch of jobs shares (every job's own initImage / control become per-image inputs). */
function sharedOptions(jobs: FrameJob[]): Partial<GenerateOptions> {
  const strip = ({ initImage: _init, control: _control, num: _num, ...rest }: Partial<GenerateOptions>) =>
    rest;
  const shared = strip(jobs[0].options);
  for (const job of jobs) {
    if (JSON.stringify(strip(job.options)) !== JSON.stringify(shared))
      throw new Error(
        `frame ${job.index}: a batch of frames must share its options (besides the frame and its condition)`,
      );
  }
  return { ...shared, num: jobs.length };
}

/**
 * Runs the frame jobs on one pipeline, `batch` frames per generation; `onFrame` sees each frame as it is done.
 * The jobs are independent descriptions: the same jobs could run on several processes or machines.
 */
export async function stylizeFrames(
  pipeline: Pipeline,
  jobs: FrameJob[],
  options: StylizeFramesOptions = {},
): Promise<StylizedFrame[]> {
  const batch = options.batch ?? 1;
  const results: StylizedFrame[] = [];
  for (let start = 0; start < jobs.length; start += batch) {
    const group = jobs.slice(start, start + batch);
    const shared = sharedOptions(group);
    const size = shared.size ?? pipeline.defaultSize;
    const stack = (files: (string | undefined)[]) =>
      files.every((f) => f !== undefined)
        ? (tf.tidy(() => tf.concat(files.map((f) => imageFileToTensor(f as string, 3, size)))) as tf.Tensor4D)
        : undefined;
    const initImages = stack(group.map((job) => job.options.initImage ?? undefined));
    const controlImages = stack(group.map((job) => job.control));
    const begin = performance.now();
    try {
      const result = await pipeline.generate(shared, {
        ...options,
        perImage: { initImages, controlImages, sharedNoise: true, crossFrame: options.crossFrame ?? null },
      });
      const ms = (performance.now() - begin) / group.length;
      const images = tf.unstack(result.images) as tf.Tensor3D[];
      result.images.dispose();
      for (const [i, job] of group.entries()) {
        const frame: StylizedFrame = {
          index: job.index,
          image: images[i],
          loss: result.finalLosses.length > 0 ? result.finalLosses[i] : null,
          ms,
        };
        results.push(frame);
        options.onFrame?.(frame, results.length);
      }
    } finally {
      tf.dispose([initImages, controlImages].filter((t): t is tf.Tensor4D => t !== undefined));
    }
  }
  return results;
}
