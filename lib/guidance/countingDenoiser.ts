import * as tf from '@tensorflow/tfjs';
import { EpsFunction } from '../ode/epsFunction';
import { Denoiser, EpsPrediction } from './denoiser';

/** How often a sampling run evaluated the noise model. */
export interface NetworkCalls {
  /** Forward evaluations (main predictions and the estimate's steps; both CFG branches count as one). */
  forward: number;
  /**
   * Vector-Jacobian products through the model's VJP graph; null when the model has none (the adjoints then
   * differentiate with tf.grad, whose backward passes are not counted here).
   */
  vjp: number | null;
}

/**
 * Wraps a denoiser so that every model evaluation is counted: the cost measure of equal-cost comparisons between
 * guidance methods (network calls, independent of the machine). Values and ownership are the wrapped denoiser's.
 */
export function countingDenoiser<D extends Denoiser & { dispose(): void }>(
  denoiser: D,
): { denoiser: Denoiser & { dispose(): void }; calls: NetworkCalls } {
  const calls: NetworkCalls = { forward: 0, vjp: denoiser.eps.vjp ? 0 : null };
  const inner = denoiser.eps;
  const eps: EpsFunction = (x: tf.Tensor, t: number) => {
    calls.forward++;
    return inner(x, t);
  };
  if (inner.vjp) {
    const innerVjp = inner.vjp;
    eps.vjp = (x, t, dy) => {
      calls.vjp = (calls.vjp ?? 0) + 1;
      return innerVjp(x, t, dy);
    };
  }
  const counted = {
    schedule: denoiser.schedule,
    cfgScale: denoiser.cfgScale,
    hasCfg: denoiser.hasCfg,
    eps,
    sampleShape: (batch: number, height: number, width: number) => denoiser.sampleShape(batch, height, width),
    predict: (x: tf.Tensor, timestep: number): EpsPrediction => {
      calls.forward++;
      return denoiser.predict(x, timestep);
    },
    toImage: (x0: tf.Tensor) => denoiser.toImage(x0),
    fromImage: (image: tf.Tensor4D) => denoiser.fromImage(image),
    dispose: () => denoiser.dispose(),
  };
  return { denoiser: counted, calls };
}
