import * as tf from '@tensorflow/tfjs';

/** Multistep memory carried from one main step to the next (DPM-Solver++ keeps the previous x0 prediction). */
export interface SamplerState {
  /** The data prediction of the last committed step, or null. Owned by the state. */
  previousX0: tf.Tensor | null;
  /** How many lower-order steps have been taken (diffusers' lower_order_nums). */
  lowerOrderNums: number;
}

export interface SamplerStepResult {
  /** The sample after the step; the caller owns it. */
  prevSample: tf.Tensor;
  /** The state to carry into the next main step; the caller owns it (dispose with disposeSamplerState). */
  state: SamplerState;
}

/**
 * A main sampler: a fixed list of timesteps and a step function eps -> x_prev. Steps never mutate their input
 * state, so a repeated (time-travel) step can be taken from the same state again.
 */
export interface MainSampler {
  readonly name: string;
  /** Descending UNet timesteps, one per main step. */
  readonly timesteps: readonly number[];
  /** abar at the start of main step i. */
  abarAt(i: number): number;
  /** abar of the sample that step i produces. */
  abarNext(i: number): number;
  initialState(): SamplerState;
  step(eps: tf.Tensor, i: number, sample: tf.Tensor, state: SamplerState): SamplerStepResult;
}

export function disposeSamplerState(state: SamplerState): void {
  state.previousX0?.dispose();
}

/** x0hat = (x - sqrt(1 - abar) eps) / sqrt(abar). */
export function predictX0(sample: tf.Tensor, eps: tf.Tensor, abar: number): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sub(sample, tf.mul(eps, Math.sqrt(1 - abar))), Math.sqrt(abar)));
}
