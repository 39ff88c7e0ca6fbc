import * as tf from '@tensorflow/tfjs';
import { RhoMode } from './guidanceSettings';

export function rms(t: tf.Tensor): number {
  return tf.tidy(() => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]));
}

/**
 * Guidance step size. `rms` (the released code's normalisation): rho = scale * w * RMS(eps_c - eps_u) / RMS(g)
 * with classifier-free guidance, rho = scale * RMS(eps) / RMS(g) without (and when eps_c = eps_u, e.g. an
 * empty prompt and an empty negative prompt). `constant`: rho = scale.
 */
export function guidanceStepSize(
  mode: RhoMode,
  scale: number,
  grad: tf.Tensor,
  reference: { guidanceDelta: tf.Tensor | null; eps: tf.Tensor; cfgScale: number },
): number {
  if (mode === 'constant') return scale;
  const g = rms(grad);
  if (g === 0) return 0;
  // With identical prompts (e.g. both empty) eps_c - eps_u vanishes; fall back to the no-CFG rule then.
  const delta = reference.guidanceDelta ? reference.cfgScale * rms(reference.guidanceDelta) : 0;
  const ref = delta > 0 ? delta : rms(reference.eps);
  return (scale * ref) / g;
}
