import * as tf from '@tensorflow/tfjs';
import { stageStates } from '../ode/cleanEstimate';
import { EstimateProblem, stagePoint, stepSize } from '../ode/estimateProblem';
import { gradientThroughCheckpoints } from './checkpointedReverse';
import { EstimateGradient, EstimateGradientOptions, LossOnEstimate } from './gradientResult';
import { odeDerivativeVjp } from './odeDerivativeVjp';

/**
 * Adjoint of one explicit Runge-Kutta step, exact for the discrete step (docs/ALGORITHM.md section 3.4): from the end-of-step
 * adjoint a', go through the stages in reverse with mu_j = h b_j a' + h sum_{l>j} a_lj nu_l and
 * nu_j = J_f(X_j)^T mu_j; return a = a' + sum_j nu_j. Stage states are recomputed from the checkpoint without a
 * tape; one VJP graph lives at a time. Caller owns the result.
 */
export function symplecticStepAdjoint(
  problem: EstimateProblem,
  i: number,
  checkpoint: tf.Tensor,
  adjointAfter: tf.Tensor,
): tf.Tensor {
  const { a, b } = problem.tableau;
  const s = b.length;
  const h = stepSize(problem, i);
  return tf.tidy(() => {
    const states = stageStates(problem, i, checkpoint);
    const nu: (tf.Tensor | null)[] = new Array(s).fill(null);
    let result = adjointAfter;
    for (let j = s - 1; j >= 0; j--) {
      let mu: tf.Tensor | null = b[j] !== 0 ? tf.mul(adjointAfter, h * b[j]) : null;
      for (let l = j + 1; l < s; l++) {
        const coefficient = a[l][j];
        const nuL = nu[l];
        if (coefficient === 0 || nuL === null) continue;
        const term = tf.mul(nuL, h * coefficient);
        mu = mu ? tf.add(mu, term) : term;
      }
      if (mu === null) continue; // this stage does not influence the step's output
      const point = stagePoint(problem, i, j);
      nu[j] = odeDerivativeVjp(problem, states[j], point, mu);
      result = tf.add(result, nu[j] as tf.Tensor);
    }
    return result === adjointAfter ? adjointAfter.clone() : result;
  });
}

/**
 * Symplectic adjoint (paper eq. 7-8): forward pass without a tape storing only the n states, then n step adjoints
 * in reverse. Exact gradient of the discrete estimate in memory constant in n.
 */
export function symplecticAdjointGradient(
  problem: EstimateProblem,
  xt: tf.Tensor,
  loss: LossOnEstimate,
  options: EstimateGradientOptions = {},
): EstimateGradient {
  return gradientThroughCheckpoints(problem, xt, loss, options, symplecticStepAdjoint);
}
