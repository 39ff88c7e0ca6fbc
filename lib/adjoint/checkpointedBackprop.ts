import * as tf from '@tensorflow/tfjs';
import { cleanEstimate, rungeKuttaStep } from '../ode/cleanEstimate';
import { EstimateProblem, fromXbarAtEnd, stepCount } from '../ode/estimateProblem';
import {
  EstimateGradient,
  EstimateGradientOptions,
  LossOnEstimate,
  lossAndCotangent,
} from './gradientResult';
import { vjpGrad } from './vjp';

/**
 * Checkpointed backprop (ALGORITHM section 3.3): forward pass without a tape storing the n states, then each step
 * is re-run on its own tape and back-propagated, last step first. Exact like direct backprop; memory holds one
 * step's graph, i.e. all s stages of a Runge-Kutta step at once (the symplectic adjoint holds one stage's).
 */
export function checkpointedBackpropGradient(
  problem: EstimateProblem,
  xT: tf.Tensor,
  loss: LossOnEstimate,
  options: EstimateGradientOptions = {},
): EstimateGradient {
  const n = stepCount(problem);
  const checkpoints: tf.Tensor[] = [];
  const x0hat = cleanEstimate(problem, xT, {
    eps0: options.eps0,
    onCheckpoint: (_i, xbar) => checkpoints.push(xbar.clone()),
  });
  const { value, grad: cotangent } = lossAndCotangent(loss, x0hat);
  let adjoint = tf.tidy(() => fromXbarAtEnd(problem, cotangent));
  cotangent.dispose();
  for (let i = n - 1; i >= 0; i--) {
    const previous = vjpGrad((x) => rungeKuttaStep(problem, i, x), checkpoints[i], adjoint);
    adjoint.dispose();
    checkpoints[i].dispose();
    adjoint = previous;
  }
  const grad = tf.tidy(() => tf.div(adjoint, Math.sqrt(problem.grid[0].abar)));
  adjoint.dispose();
  return { grad, x0hat, loss: value };
}
