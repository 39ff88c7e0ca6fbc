import * as tf from '@tensorflow/tfjs';
import {
  EstimateProblem,
  fromXbarAtEnd,
  odeDerivative,
  stagePoint,
  stepCount,
  stepSize,
  toXbar,
} from './estimateProblem';

/**
 * One explicit Runge-Kutta step i from xbar; `firstDerivative` (optional, borrowed) replaces F_0.
 * Records on the tape if one is active. Caller owns the result.
 */
export function rungeKuttaStep(
  problem: EstimateProblem,
  i: number,
  xbar: tf.Tensor,
  firstDerivative?: tf.Tensor,
): tf.Tensor {
  const { a, b } = problem.tableau;
  const h = stepSize(problem, i);
  return tf.tidy(() => {
    const derivatives: tf.Tensor[] = [];
    let next = xbar;
    for (let j = 0; j < b.length; j++) {
      let stage = xbar;
      for (let l = 0; l < j; l++)
        if (a[j][l] !== 0) stage = tf.add(stage, tf.mul(derivatives[l], h * a[j][l]));
      const fj =
        j === 0 && firstDerivative
          ? firstDerivative
          : odeDerivative(problem, stage, stagePoint(problem, i, j));
      derivatives.push(fj);
      if (b[j] !== 0) next = tf.add(next, tf.mul(fj, h * b[j]));
    }
    return next === xbar ? xbar.clone() : next;
  });
}

/**
 * The stage states X_0..X_{s-1} of step i, recomputed from the checkpoint xbar (the last stage's derivative is
 * not evaluated). Caller owns the results.
 */
export function stageStates(problem: EstimateProblem, i: number, xbar: tf.Tensor): tf.Tensor[] {
  const { a } = problem.tableau;
  const h = stepSize(problem, i);
  const states: tf.Tensor[] = [xbar.clone()];
  const derivatives: tf.Tensor[] = [];
  for (let j = 1; j < a.length; j++) {
    derivatives.push(odeDerivative(problem, states[j - 1], stagePoint(problem, i, j - 1)));
    states.push(
      tf.tidy(() => {
        let stage = xbar;
        for (let l = 0; l < j; l++)
          if (a[j][l] !== 0) stage = tf.add(stage, tf.mul(derivatives[l], h * a[j][l]));
        return stage === xbar ? xbar.clone() : stage;
      }),
    );
  }
  tf.dispose(derivatives);
  return states;
}

export interface CleanEstimateOptions {
  /** eps(x_t, t) already computed by the main sampler (borrowed): saves one network evaluation. */
  eps0?: tf.Tensor;
  /** Called with each state xbar_0..xbar_{n-1} before its step; the callback may tf.keep/clone it. */
  onCheckpoint?: (i: number, xbar: tf.Tensor) => void;
}

/**
 * The n-step estimate of the clean sample from x_t (docs/ALGORITHM.md section 2). Records on the tape if one is active
 * (direct backprop); otherwise each step runs in its own tidy scope. Caller owns the result.
 */
export function cleanEstimate(
  problem: EstimateProblem,
  xt: tf.Tensor,
  options: CleanEstimateOptions = {},
): tf.Tensor {
  const n = stepCount(problem);
  let xbar = toXbar(problem, xt);
  for (let i = 0; i < n; i++) {
    options.onCheckpoint?.(i, xbar);
    const next = rungeKuttaStep(problem, i, xbar, i === 0 ? options.eps0 : undefined);
    xbar.dispose();
    xbar = next;
  }
  const x0hat = fromXbarAtEnd(problem, xbar);
  xbar.dispose();
  return x0hat;
}
