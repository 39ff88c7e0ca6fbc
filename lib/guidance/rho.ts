import * as tf from '@tensorflow/tfjs';
import { RhoMode } from './guidanceSettings';

/** Root mean square of a tensor, as a scalar tensor (caller owns it). */
export function rms(t: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.mean(tf.square(t))) as tf.Scalar);
}

/** RMS(eps_c - eps_u) at most this fraction of RMS(eps) counts as identical prompts (rounding, not guidance). */
const VANISHING_GUIDANCE_DELTA = 1e-4;

/**
 * Guidance step size, as a scalar tensor that stays on the device (caller owns it). `rms` (the released code's
 * normalisation): rho = scale * w * RMS(eps_c - eps_u) / RMS(g) with classifier-free guidance,
 * rho = scale * RMS(eps) / RMS(g) without (and when eps_c = eps_u, e.g. an empty prompt and an empty negative
 * prompt, or a difference below 1e-4 of RMS(eps)); rho = 0 when g = 0. `constant`: rho = scale. Either way at most `max`.
 */
export function guidanceStepSize(
  mode: RhoMode,
  scale: number,
  grad: tf.Tensor,
  reference: { guidanceDelta: tf.Tensor | null; eps: tf.Tensor; cfgScale: number },
  max = Infinity,
): tf.Scalar {
  if (mode === 'constant') return tf.scalar(Math.min(scale, max));
  return tf.tidy(() => {
    const g = rms(grad);
    const epsScale = rms(reference.eps);
    // With identical prompts (e.g. both empty) eps_c - eps_u vanishes; fall back to the no-CFG rule then. Not
    // exactly zero on every backend: a BLAS library may sum identical rows of one batch in different orders
    // (OpenBLAS: ~1e-7 of eps), which as a reference would make rho ~1e-6 of its intended size.
    const ref = reference.guidanceDelta
      ? tf.tidy(() => {
          const deltaRms = rms(reference.guidanceDelta as tf.Tensor);
          const vanishes = tf.lessEqual(deltaRms, tf.mul(epsScale, VANISHING_GUIDANCE_DELTA));
          return tf.where(vanishes, epsScale, tf.mul(deltaRms, reference.cfgScale));
        })
      : epsScale;
    const safeG = tf.maximum(g, 1e-30);
    const rho = tf.where(tf.greater(g, 0), tf.div(tf.mul(ref, scale), safeG), tf.zerosLike(g));
    return (Number.isFinite(max) ? tf.minimum(rho, max) : rho) as tf.Scalar;
  });
}
