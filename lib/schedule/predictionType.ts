import * as tf from '@tensorflow/tfjs';
import { NoiseSchedule } from './noiseSchedule';
import { PredictionType } from './schedulerConfig';

/**
 * The noise prediction eps from a network's raw output at (x, t), for any prediction type. diffusers' definitions,
 * with x = sqrt(abar) x0 + sqrt(1 - abar) eps: v = sqrt(abar) eps - sqrt(1 - abar) x0; 'sample' predicts x0.
 * Everything downstream (samplers, the n-step estimate and its adjoints) works with eps, so this is the one place
 * where the prediction type matters. `t` may be fractional (Runge-Kutta stages); abar there is the schedule's
 * interpolation. Differentiable in x and output; the caller owns the result (the output itself for 'epsilon').
 */
export function epsFromPrediction(
  output: tf.Tensor,
  x: tf.Tensor,
  t: number,
  schedule: NoiseSchedule,
  type: PredictionType = schedule.config.predictionType,
): tf.Tensor {
  if (type === 'epsilon') return output;
  const abar = schedule.abarAtTimestep(t);
  const [a, s] = [Math.sqrt(abar), Math.sqrt(1 - abar)];
  return tf.tidy(() =>
    type === 'v_prediction'
      ? tf.add(tf.mul(output, a), tf.mul(x, s))
      : tf.div(tf.sub(x, tf.mul(output, a)), s),
  );
}

/**
 * The transpose of epsFromPrediction (affine in output and x): for a cotangent dy of eps, the cotangents of the
 * network output and of x (null where x does not enter). The caller owns both.
 */
export function epsFromPredictionVjp(
  dy: tf.Tensor,
  t: number,
  schedule: NoiseSchedule,
  type: PredictionType = schedule.config.predictionType,
): { output: tf.Tensor; sample: tf.Tensor | null } {
  if (type === 'epsilon') return { output: dy.clone(), sample: null };
  const abar = schedule.abarAtTimestep(t);
  const [a, s] = [Math.sqrt(abar), Math.sqrt(1 - abar)];
  return type === 'v_prediction'
    ? { output: tf.mul(dy, a), sample: tf.mul(dy, s) }
    : { output: tf.mul(dy, -a / s), sample: tf.div(dy, s) };
}
