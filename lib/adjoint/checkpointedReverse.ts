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
 * dL/dx_t from dL/dx0hat, given the n step states of the forward pass: x0hat = xbar_n sqrt(abar_end), so the adjoint
 * of xbar_n is sqrt(abar_end) dL/dx0hat; then `stepAdjoint` for each step in reverse; dL/dx_t = a_0 / sqrt(abar_t).
 * Borrows `checkpoints` and `cotangent`; the caller owns the result.
 */
export function adjointThroughCheckpoints(
  problem: EstimateProblem,
  checkpoints: readonly tf.Tensor[],
  cotangent: tf.Tensor,
  stepAdjoint: StepAdjoint,
): tf.Tensor {
  let adjoint = tf.tidy(() => fromXbarAtEnd(problem, cotangent));
  for (let i = stepCount(problem) - 1; i >= 0; i--) {
    const previous = stepAdjoint(problem, i, checkpoints[i], adjoint);
    adjoint.dispose();
    adjoint = previous;
  }
  const grad = tf.tidy(() => tf.div(adjoint, Math.sqrt(problem.grid[0].abar)));
  adjoint.dispose();
  return grad;
}

/**
 * The skeleton shared by the exact memory-saving methods: forward pass without a tape storing only the n states,
 * L and dL/dx0hat (the loss's graph is freed here, before any step VJP runs), then the step adjoints in reverse.
 */
export function gradientThroughCheckpoints(
  problem: EstimateProblem,
  xt: tf.Tensor,
  loss: LossOnEstimate,
  options: EstimateGradientOptions,
  stepAdjoint: StepAdjoint,
): EstimateGradient {
  const checkpoints: tf.Tensor[] = [];
  const x0hat = cleanEstimate(problem, xt, {
    eps0: options.eps0,
    onCheckpoint: (_i, xbar) => checkpoints.push(xbar.clone()),
  });
  const { value, grad: cotangent } = lossAndCotangent(loss, x0hat);
  const grad = adjointThroughCheckpoints(problem, checkpoints, cotangent, stepAdjoint);
  tf.dispose([cotangent, ...checkpoints]);
  return { grad, x0hat, loss: value };
}
