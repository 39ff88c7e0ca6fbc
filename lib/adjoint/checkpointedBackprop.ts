import * as tf from '@tensorflow/tfjs';
import { rungeKuttaStep } from '../ode/cleanEstimate';
import { EstimateProblem } from '../ode/estimateProblem';
import { StepAdjoint, gradientThroughCheckpoints } from './checkpointedReverse';
import { EstimateGradient, EstimateGradientOptions, LossOnEstimate } from './gradientResult';
import { vjpGrad } from './vjp';

/** The adjoint before step i: step i re-run from its start state on its own tape, back-propagated. */
export const checkpointedStepAdjoint: StepAdjoint = (problem, i, checkpoint, adjointAfter) =>
  vjpGrad((x) => rungeKuttaStep(problem, i, x), checkpoint, adjointAfter);

/**
 * Checkpointed backprop (docs/ALGORITHM.md section 3.3): forward pass without a tape storing the n states, then each step
 * is re-run on its own tape and back-propagated, last step first. Exact like direct backprop; memory holds one
 * step's graph, i.e. all s stages of a Runge-Kutta step at once (the symplectic adjoint holds one stage's).
 */
export function checkpointedBackpropGradient(
  problem: EstimateProblem,
  xt: tf.Tensor,
  loss: LossOnEstimate,
  options: EstimateGradientOptions = {},
): EstimateGradient {
  return gradientThroughCheckpoints(problem, xt, loss, options, checkpointedStepAdjoint);
}
