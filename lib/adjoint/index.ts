import * as tf from '@tensorflow/tfjs';
import { EstimateProblem } from '../ode/estimateProblem';
import { checkpointedBackpropGradient } from './checkpointedBackprop';
import { directBackpropGradient } from './directBackprop';
import { EstimateGradient, EstimateGradientOptions, LossOnEstimate } from './gradientResult';
import { symplecticAdjointGradient } from './symplecticAdjoint';
import { vanillaAdjointGradient } from './vanillaAdjoint';

export { checkpointedBackpropGradient, checkpointedStepAdjoint } from './checkpointedBackprop';
export { cleanEstimateOp } from './cleanEstimateOp';
export type { CleanEstimateOpOptions, EstimateOpMethod } from './cleanEstimateOp';
export { directBackpropGradient } from './directBackprop';
export { symplecticAdjointGradient, symplecticStepAdjoint } from './symplecticAdjoint';
export { vanillaAdjointGradient } from './vanillaAdjoint';
export { vjp, vjpGrad } from './vjp';
export { lossAndCotangent } from './gradientResult';
export type { EstimateGradient, EstimateGradientOptions, LossOnEstimate } from './gradientResult';

export const GRADIENT_METHODS = ['symplectic', 'direct', 'checkpointed', 'vanilla'] as const;
export type GradientMethod = (typeof GRADIENT_METHODS)[number];

/**
 * dL/dx_t through the clean estimate of `problem`, by the chosen method. All methods return the same quantities;
 * the caller owns `grad` and `x0hat`.
 */
export function estimateGradient(
  method: GradientMethod,
  problem: EstimateProblem,
  xt: tf.Tensor,
  loss: LossOnEstimate,
  options: EstimateGradientOptions = {},
): EstimateGradient {
  switch (method) {
    case 'direct':
      return directBackpropGradient(problem, xt, loss);
    case 'checkpointed':
      return checkpointedBackpropGradient(problem, xt, loss, options);
    case 'vanilla':
      return vanillaAdjointGradient(problem, xt, loss, options);
    case 'symplectic':
      return symplecticAdjointGradient(problem, xt, loss, options);
    default:
      throw new Error(`unknown gradient method '${String(method)}'`);
  }
}
