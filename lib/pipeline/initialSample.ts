import * as tf from '@tensorflow/tfjs';
import { Denoiser } from '../guidance/denoiser';
import { MainSampler } from '../samplers';
import { SeededNoise } from '../samplers/seededNoise';
import { optionImage } from './guidanceLoss';

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
): InitialSample {
  const pure = noise.normal(shape);
  if (!img2img.initImage) return { x: pure, startStep: 0 };
  const startStep = Math.min(img2img.steps - 1, Math.floor(img2img.steps * (1 - img2img.strength)));
  const abar = sampler.abarAt(startStep);
  const init = optionImage('initImage', img2img.initImage, img2img.size);
  const x = tf.tidy(() => {
    const x0 = tf.tile(denoiser.fromImage(init), [shape[0], 1, 1, 1]);
    return tf.add(tf.mul(x0, Math.sqrt(abar)), tf.mul(pure, Math.sqrt(1 - abar)));
  });
  tf.dispose([init, pure]);
  return { x, startStep };
}
