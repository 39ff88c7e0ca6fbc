import * as tf from '@tensorflow/tfjs';
import { Denoiser } from '../guidance/denoiser';
import { CrossFrameMode } from '../models/frameMix';
import { MainSampler } from '../samplers';
import { SeededNoise } from '../samplers/seededNoise';
import { OptionImageReader } from './optionImages';

/**
 * Inputs that differ per image of a batch (the frames of a video run as one batch). The caller owns the tensors.
 */
export interface PerImageInputs {
  /** img2img start images [num, H, W, C] in [0, 1], one per image (instead of the initImage option). */
  initImages?: tf.Tensor4D;
  /** ControlNet condition images [num, H, W, C] in [0, 1], one per image (instead of the control option). */
  controlImages?: tf.Tensor4D;
  /** Every image starts from the same noise (that of a one-image run with the seed). */
  sharedNoise?: boolean;
  /**
   * The images are the frames of a video, in order: the UNet's self-attentions take their keys and values from
   * the first frame, or from the previous one (cross-frame attention, as Text2Video-Zero; lib/models/frameMix.ts).
   */
  crossFrame?: CrossFrameMode | null;
}

export interface InitialSample {
  /** x at the first main step; the caller disposes it. */
  x: tf.Tensor;
  /** The first main step: 0, or later for img2img. */
  startStep: number;
}

/**
 * Where sampling starts: seeded Gaussian noise of `shape`, or (img2img) the init image encoded and noised to the
 * main step that leaves `strength` of the schedule to run, resized to `size` (pixels).
 */
export function initialSample(
  denoiser: Denoiser,
  sampler: MainSampler,
  noise: SeededNoise,
  shape: [number, number, number, number],
  img2img: { initImage: string | null; strength: number; steps: number; size: [number, number] },
  optionImage: OptionImageReader,
  perImage: PerImageInputs = {},
): InitialSample {
  // Shared noise: every image gets the noise a one-image run with this seed gets (the frames of a video).
  const pure = perImage.sharedNoise
    ? tf.tidy(() => tf.tile(noise.normal([1, ...shape.slice(1)]), [shape[0], 1, 1, 1]))
    : noise.normal(shape);
  if (!img2img.initImage && !perImage.initImages) return { x: pure, startStep: 0 };
  const startStep = Math.min(img2img.steps - 1, Math.floor(img2img.steps * (1 - img2img.strength)));
  const abar = sampler.abarAt(startStep);
  const init = perImage.initImages
    ? tf.tidy(() => tf.image.resizeBilinear(perImage.initImages as tf.Tensor4D, img2img.size, true))
    : optionImage('initImage', img2img.initImage as string, img2img.size);
  const x = tf.tidy(() => {
    const encoded = denoiser.fromImage(init);
    const x0 = encoded.shape[0] === shape[0] ? encoded : tf.tile(encoded, [shape[0], 1, 1, 1]);
    return tf.add(tf.mul(x0, Math.sqrt(abar)), tf.mul(pure, Math.sqrt(1 - abar)));
  });
  tf.dispose([init, pure]);
  return { x, startStep };
}
