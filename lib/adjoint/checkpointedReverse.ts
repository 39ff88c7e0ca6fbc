import * as tf from '@tensorflow/tfjs';
import { cleanEstimate } from '../ode/cleanEstimate';
import { EstimateProblem, fromXbarAtEnd, stepCount } from '../ode/estimateProblem';
import {
  EstimateGradient,
  EstimateGradientOptions,
  LossOnEstimate,
  lossAndCotangent,
} from './gradientResult';

/** Adjoint before step i from the adjoint after it, given the step's start state. Caller owns the result. */
export type StepAdjoint = (
  problem: EstimateProblem,
  i: number,
  checkpoint: tf.Tensor,
  adjointAfter: tf.Tensor,
) => tf.Tensor;

/**
 * The skeleton shared by the exact memory-saving methods: forward pass without a tape storing only the n states,
 * then `stepAdjoint` for each step in reverse, then dL/dx_t = a_0 / sqrt(abar_t).
 */
export function gradientThroughCheckpoints(
  problem: EstimateProblem,
  xT: tf.Tensor,
  loss: LossOnEstimate,
  options: EstimateGradientOptions,
  stepAdjoint: StepAdjoint,
): EstimateGradient {
  const n = stepCount(problem);
  const checkpoints: tf.Tensor[] = [];
  const x0hat = cleanEstimate(problem, xT, {
    eps0: options.eps0,
    onCheckpoint: (_i, xbar) => checkpoints.push(xbar.clone()),
  });
  const { value, grad: cotangent } = lossAndCotangent(loss, x0hat);
  // x0hat = xbar_n * sqrt(abar_end), so dL/dxbar_n = sqrt(abar_end) * dL/dx0hat.
  let adjoint = tf.tidy(() => fromXbarAtEnd(problem, cotangent));
  cotangent.dispose();
  for (let i = n - 1; i >= 0; i--) {
    const previous = stepAdjoint(problem, i, checkpoints[i], adjoint);
    adjoint.dispose();
    checkpoints[i].dispose();
    adjoint = previous;
  }
  const grad = tf.tidy(() => tf.div(adjoint, Math.sqrt(problem.grid[0].abar)));
  adjoint.dispose();
  return { grad, x0hat, loss: value };
}
