import * as tf from '@tensorflow/tfjs';
import { cleanEstimate } from '../ode/cleanEstimate';
import { EstimateProblem } from '../ode/estimateProblem';
import { StepAdjoint, adjointThroughCheckpoints } from './checkpointedReverse';
import { checkpointedStepAdjoint } from './checkpointedBackprop';
import { symplecticStepAdjoint } from './symplecticAdjoint';

export type EstimateOpMethod = 'symplectic' | 'checkpointed';

export interface CleanEstimateOpOptions {
  /** How the backward pass runs (both exact): 'symplectic' (default) or 'checkpointed'. */
  method?: EstimateOpMethod;
  /** eps(x_t, t) already computed for this x_t (borrowed): saves the first network evaluation of the forward. */
  eps0?: tf.Tensor;
}

const STEP_ADJOINTS: Record<EstimateOpMethod, StepAdjoint> = {
  symplectic: symplecticStepAdjoint,
  checkpointed: checkpointedStepAdjoint,
};

interface EngineWithTape {
  state: { activeTape: unknown };
}

/**
 * Runs `fn`, which takes gradients of its own (the step VJPs), inside the backward pass of an outer tf.grad. tfjs
 * keeps one tape slot per engine: a gradient taken while the outer backward runs replaces the outer tape with its
 * own and sets the slot to null when done, and the outer tf.grad then fails ("reading 'forEach' of null") instead
 * of freeing its saved tensors. Putting the outer tape back after each inner use keeps both working; each inner
 * tape is still freed as soon as its VJP is done, which is what keeps the memory flat in n.
 */
function keepingOuterTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as EngineWithTape).state;
  const outer = state.activeTape;
  try {
    return fn();
  } finally {
    state.activeTape = outer;
  }
}

/**
 * The n-step clean estimate x_t -> x0hat of `problem` as a differentiable tfjs op: under tf.grad its backward pass
 * is the exact adjoint of the discrete solve (symplectic or checkpointed), not a tape of the n steps. The forward
 * keeps only the n step states, so the memory of `tf.grad(x => loss(op(x)))` does not grow with n (beyond those
 * n states). Any differentiable loss works:
 *
 *   const estimate = cleanEstimateOp(problem);
 *   const grad = tf.grad((x) => myLoss(estimate(x)))(xt);
 *
 * Outside tf.grad it is the plain estimate. The op's result is owned by the caller (or the enclosing tidy).
 */
export function cleanEstimateOp(
  problem: EstimateProblem,
  options: CleanEstimateOpOptions = {},
): (xt: tf.Tensor) => tf.Tensor {
  const stepAdjoint = STEP_ADJOINTS[options.method ?? 'symplectic'];
  if (!stepAdjoint)
    throw new Error(`cleanEstimateOp: method must be symplectic or checkpointed, got '${options.method}'`);
  // tfjs types customGrad's arguments as (...inputs: Array<Tensor | GradSaveFunc>).
  const op = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xt, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const checkpoints: tf.Tensor[] = [];
    const value = cleanEstimate(problem, xt, {
      eps0: options.eps0,
      onCheckpoint: (_i, xbar) => checkpoints.push(xbar.clone()),
    });
    save(checkpoints);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        keepingOuterTape(() => [adjointThroughCheckpoints(problem, saved, dy, stepAdjoint)]),
    };
  };
  return tf.customGrad(op) as (xt: tf.Tensor) => tf.Tensor;
}
