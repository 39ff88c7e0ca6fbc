import * as tf from '@tensorflow/tfjs';
import { cleanEstimate } from '../ode/cleanEstimate';
import {
  EstimateProblem,
  fromXbarAtEnd,
  odeDerivative,
  stagePoint,
  stepCount,
  stepSize,
} from '../ode/estimateProblem';
import {
  EstimateGradient,
  EstimateGradientOptions,
  LossOnEstimate,
  lossAndCotangent,
} from './gradientResult';
import { vjp } from './vjp';

/**
 * One backward step of the augmented system (xbar, a) from grid point i+1 to i with the same tableau and step -h:
 * d xbar = f ds, d a = -J^T a ds. For Euler: xbar_i = xbar_{i+1} - h f(xbar_{i+1}), a_i = a_{i+1} + h J^T a_{i+1}.
 * Caller owns both results.
 */
function augmentedBackwardStep(
  problem: EstimateProblem,
  i: number,
  xbar: tf.Tensor,
  adjoint: tf.Tensor,
): { xbar: tf.Tensor; adjoint: tf.Tensor } {
  const { a, b } = problem.tableau;
  const h = stepSize(problem, i);
  return tf.tidy(() => {
    const fx: tf.Tensor[] = [];
    const fa: tf.Tensor[] = [];
    let nextX = xbar;
    let nextA = adjoint;
    for (let j = 0; j < b.length; j++) {
      let stageX = xbar;
      let stageA = adjoint;
      for (let l = 0; l < j; l++) {
        if (a[j][l] === 0) continue;
        stageX = tf.sub(stageX, tf.mul(fx[l], h * a[j][l]));
        stageA = tf.add(stageA, tf.mul(fa[l], h * a[j][l]));
      }
      const point = stagePoint(problem, i, j, -1);
      const { value, grad } = vjp((x) => odeDerivative(problem, x, point), stageX, stageA);
      fx.push(value);
      fa.push(grad);
      if (b[j] !== 0) {
        nextX = tf.sub(nextX, tf.mul(value, h * b[j]));
        nextA = tf.add(nextA, tf.mul(grad, h * b[j]));
      }
    }
    return {
      xbar: nextX === xbar ? xbar.clone() : nextX,
      adjoint: nextA === adjoint ? adjoint.clone() : nextA,
    };
  });
}

/**
 * Vanilla adjoint (Chen et al. 2018, paper eq. 5): integrates state and adjoint backwards from the clean end,
 * reconstructing the state instead of storing it. Constant memory, but not the exact discrete gradient.
 */
export function vanillaAdjointGradient(
  problem: EstimateProblem,
  xt: tf.Tensor,
  loss: LossOnEstimate,
  options: EstimateGradientOptions = {},
): EstimateGradient {
  const x0hat = cleanEstimate(problem, xt, { eps0: options.eps0 });
  const { value, grad: cotangent } = lossAndCotangent(loss, x0hat);
  let adjoint = tf.tidy(() => fromXbarAtEnd(problem, cotangent));
  cotangent.dispose();
  let xbar = tf.tidy(() => tf.div(x0hat, Math.sqrt(problem.grid[problem.grid.length - 1].abar)));
  for (let i = stepCount(problem) - 1; i >= 0; i--) {
    const previous = augmentedBackwardStep(problem, i, xbar, adjoint);
    xbar.dispose();
    adjoint.dispose();
    ({ xbar, adjoint } = previous);
  }
  xbar.dispose();
  const grad = tf.tidy(() => tf.div(adjoint, Math.sqrt(problem.grid[0].abar)));
  adjoint.dispose();
  return { grad, x0hat, loss: value };
}
