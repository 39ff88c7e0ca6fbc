import * as tf from '@tensorflow/tfjs';
import { GRADIENT_METHODS, estimateGradient } from '../../lib/adjoint';
import { TABLEAUS, cleanEstimate, makeEstimateProblem } from '../../lib/ode';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../../lib/schedule';
import { useTestBackend } from '../helpers/testBackend';
import {
  linearEpsFunction,
  linearReference,
  randomLinearEps,
  tanhEpsFunction,
} from '../helpers/linearProblem';
import { relativeL2 } from '../helpers/relativeError';

beforeAll(useTestBackend);

const schedule = new NoiseSchedule(SD_V1_SCHEDULER);
const d = 6;
const lin = randomLinearEps(d, 7);
const xTValues = Array.from({ length: d }, (_, i) => Math.sin(i + 1));
const target = Array.from({ length: d }, (_, i) => 0.3 * Math.cos(i));
const loss = (x0hat: tf.Tensor) =>
  tf.mul(tf.sum(tf.square(tf.sub(x0hat, tf.tensor(target, [1, 1, 1, d])))), 0.5) as tf.Scalar;

describe.each(Object.keys(TABLEAUS))('linear eps(x, t) = A(t) x, tableau %s', (tableauName) => {
  test.each([1, 2, 3, 5])(
    'n = %i: estimate and symplectic/direct gradients equal the float64 closed form',
    (n) => {
      const problem = makeEstimateProblem(linearEpsFunction(lin), schedule, 641, {
        n,
        tableau: TABLEAUS[tableauName],
      });
      const reference = linearReference(problem, lin, xTValues, target);
      const xT = tf.tensor(xTValues, [1, 1, 1, d]);
      const x0hat = cleanEstimate(problem, xT);
      expect(relativeL2(x0hat, reference.x0hat)).toBeLessThan(1e-5);
      x0hat.dispose();
      for (const method of ['symplectic', 'direct'] as const) {
        const result = estimateGradient(method, problem, xT, loss);
        expect(relativeL2(result.grad, reference.grad)).toBeLessThan(1e-5);
        tf.dispose([result.grad, result.x0hat, result.loss]);
      }
      xT.dispose();
    },
  );
});

describe('vanilla adjoint', () => {
  test.each([2, 3, 4])(
    'is visibly inexact on a nonlinear problem at n = %i while symplectic is exact',
    (n) => {
      const problem = makeEstimateProblem(tanhEpsFunction(lin), schedule, 801, { n });
      const xT = tf.tensor(
        xTValues.map((v) => 3 * v),
        [1, 1, 1, d],
      );
      const results = Object.fromEntries(
        GRADIENT_METHODS.map((m) => [m, estimateGradient(m, problem, xT, loss)]),
      );
      expect(relativeL2(results.symplectic.grad, results.direct.grad)).toBeLessThan(1e-5);
      expect(relativeL2(results.vanilla.grad, results.direct.grad)).toBeGreaterThan(1e-2);
      for (const r of Object.values(results)) tf.dispose([r.grad, r.x0hat, r.loss]);
      xT.dispose();
    },
  );

  test('at n = 1 symplectic and direct equal the one-step (FreeDoM) gradient; vanilla does not', () => {
    const problem = makeEstimateProblem(tanhEpsFunction(lin), schedule, 801, { n: 1 });
    const xT = tf.tensor(xTValues, [1, 1, 1, d]);
    const abar = schedule.abar(801);
    const oneStep = tf.grad((x: tf.Tensor) =>
      loss(tf.div(tf.sub(x, tf.mul(tanhEpsFunction(lin)(x, 801), Math.sqrt(1 - abar))), Math.sqrt(abar))),
    )(xT);
    for (const method of GRADIENT_METHODS) {
      const r = estimateGradient(method, problem, xT, loss);
      const error = relativeL2(r.grad, oneStep);
      if (method === 'vanilla') expect(error).toBeGreaterThan(1e-2);
      else expect(error).toBeLessThan(1e-5);
      tf.dispose([r.grad, r.x0hat, r.loss]);
    }
    tf.dispose([xT, oneStep]);
  });
});
