import * as tf from '@tensorflow/tfjs';
import { EpsFunction } from '../ode/epsFunction';
import { NoiseSchedule } from '../schedule/noiseSchedule';

export interface EpsPrediction {
  /** The noise prediction the sampler uses (CFG-combined). */
  eps: tf.Tensor;
  /** eps_c - eps_u under classifier-free guidance, else null. */
  guidanceDelta: tf.Tensor | null;
}

/**
 * A noise-prediction model as the guided loop sees it: latent (Stable Diffusion, with CFG) or pixel-space
 * (the embedded default). All tensors NHWC; every returned tensor is owned by the caller.
 */
export interface Denoiser {
  readonly schedule: NoiseSchedule;
  /** CFG scale w (1 when the model has no classifier-free guidance). */
  readonly cfgScale: number;
  readonly hasCfg: boolean;
  /** Sample shape [B, h, w, c] for images of height x width pixels. */
  sampleShape(batch: number, height: number, width: number): [number, number, number, number];
  predict(x: tf.Tensor, timestep: number): EpsPrediction;
  /** Differentiable eps(x, t) (CFG-combined), for the n-step estimate and its gradients. */
  readonly eps: EpsFunction;
  /** Clean sample -> image in [0, 1] (differentiable; decodes latents). */
  toImage(x0: tf.Tensor): tf.Tensor4D;
  /** Image in [0, 1] -> clean sample (encodes to a latent), for img2img. */
  fromImage(image: tf.Tensor4D): tf.Tensor;
}
