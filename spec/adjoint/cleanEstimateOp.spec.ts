import * as tf from '@tensorflow/tfjs';
import { EstimateOpMethod, cleanEstimateOp, estimateGradient } from '../../lib/adjoint';
import { measurePeakBytes } from '../../lib/bench/peakMemory';
import { SyntheticEpsNet } from '../../lib/models/syntheticEpsNet';
import { cleanEstimate } from '../../lib/ode/cleanEstimate';
import { TABLEAUS, makeEstimateProblem } from '../../lib/ode';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../../lib/schedule';
import { relativeL2 } from '../helpers/relativeError';
import { useTestBackend } from '../helpers/testBackend';

const schedule = new NoiseSchedule(SD_V1_SCHEDULER);
let net: SyntheticEpsNet;
let xT: tf.Tensor;

beforeAll(async () => {
  await useTestBackend();
  net = new SyntheticEpsNet({ inChannels: 4, width: 16, groups: 8, seed: 3 });
  xT = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 11);
});

afterAll(() => {
  xT.dispose();
  net.dispose();
});

const problemOf = (n: number, tableau = 'euler') =>
  makeEstimateProblem(net.eps, schedule, 701, { n, tableau: TABLEAUS[tableau] });

/** A loss the adjoint code has never seen: a smooth, non-quadratic function of the estimate. */
const userLoss = (x0: tf.Tensor) => tf.sum(tf.log(tf.add(tf.square(tf.sub(x0, 0.3)), 1))) as tf.Scalar;

describe('cleanEstimateOp', () => {
  test('outside tf.grad it is the plain estimate', () => {
    const problem = problemOf(3);
    const viaOp = cleanEstimateOp(problem)(xT);
    const plain = cleanEstimate(problem, xT);
    expect(relativeL2(viaOp, plain)).toBe(0);
    tf.dispose([viaOp, plain]);
  });

  test.each([
    ['symplectic', 'euler', 4],
    ['symplectic', 'rk4', 2],
    ['checkpointed', 'heun', 3],
  ] as const)(
    'tf.grad of a user loss through the %s op equals direct backprop (%s, n = %i)',
    (method, tableau, n) => {
      const problem = problemOf(n, tableau);
      const op = cleanEstimateOp(problem, { method: method as EstimateOpMethod });
      const viaOp = tf.grad((x: tf.Tensor) => userLoss(op(x)))(xT);
      const direct = estimateGradient('direct', problem, xT, userLoss);
      expect(relativeL2(viaOp, direct.grad)).toBeLessThanOrEqual(1e-5);
      tf.dispose([viaOp, direct.grad, direct.x0hat, direct.loss]);
    },
  );

  test("tf.grad through the op equals the guidance loop's estimateGradient (same adjoint, loss first)", () => {
    const problem = problemOf(3, 'heun');
    const viaOp = tf.grad((x: tf.Tensor) => userLoss(cleanEstimateOp(problem)(x)))(xT);
    const loop = estimateGradient('symplectic', problem, xT, userLoss);
    expect(relativeL2(viaOp, loop.grad)).toBeLessThanOrEqual(1e-6);
    tf.dispose([viaOp, loop.grad, loop.x0hat, loop.loss]);
  });

  test('composes with other ops: a loss on a downsampled estimate plus a term on x itself', () => {
    const problem = problemOf(2);
    const op = cleanEstimateOp(problem);
    const f = (x: tf.Tensor) =>
      tf.add(tf.sum(tf.square(tf.avgPool(op(x) as tf.Tensor4D, 2, 2, 'valid'))), tf.mul(tf.sum(x), 0.01));
    const viaOp = tf.grad(f)(xT);
    const direct = tf.grad((x: tf.Tensor) =>
      tf.add(
        tf.sum(tf.square(tf.avgPool(cleanEstimate(problem, x) as tf.Tensor4D, 2, 2, 'valid'))),
        tf.mul(tf.sum(x), 0.01),
      ),
    )(xT);
    expect(relativeL2(viaOp, direct)).toBeLessThanOrEqual(1e-5);
    tf.dispose([viaOp, direct]);
  });

  test('no tensors left behind by tf.grad through it', () => {
    const op = cleanEstimateOp(problemOf(3));
    tf.grad((x: tf.Tensor) => userLoss(op(x)))(xT).dispose();
    const before = tf.memory().numTensors;
    tf.grad((x: tf.Tensor) => userLoss(op(x)))(xT).dispose();
    expect(tf.memory().numTensors).toBe(before);
    op(xT).dispose(); // and outside tf.grad, where nothing is taped
    expect(tf.memory().numTensors).toBe(before);
  });

  test('memory through tf.grad is flat in n: peak at n = 8 <= 1.1x n = 1 (direct backprop grows)', async () => {
    const peak = async (n: number, viaOp: boolean) => {
      const problem = problemOf(n);
      const op = cleanEstimateOp(problem);
      const run = await measurePeakBytes(() =>
        tf.grad((x: tf.Tensor) => userLoss(viaOp ? op(x) : cleanEstimate(problem, x)))(xT),
      );
      run.result.dispose();
      return run.peakBytes;
    };
    const op1 = await peak(1, true);
    const op8 = await peak(8, true);
    expect(op8).toBeLessThanOrEqual(1.1 * op1);
    expect(await peak(8, false)).toBeGreaterThan(3 * (await peak(1, false)));
  });
});
