import * as tf from '@tensorflow/tfjs';
import { cleanEstimate } from '../ode/cleanEstimate';
import { EstimateProblem } from '../ode/estimateProblem';
import { EstimateGradient, LossOnEstimate } from './gradientResult';

/** Direct backprop: the whole n-step chain on one tape. Exact; memory grows with n. */
export function directBackpropGradient(
  problem: EstimateProblem,
  xt: tf.Tensor,
  loss: LossOnEstimate,
): EstimateGradient {
  let x0hat: tf.Tensor | null = null;
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
    const estimate = tf.keep(cleanEstimate(problem, x));
    x0hat = estimate;
    return loss(estimate);
  })(xt);
  return { grad, x0hat: x0hat as unknown as tf.Tensor, loss: value as tf.Scalar };
}
