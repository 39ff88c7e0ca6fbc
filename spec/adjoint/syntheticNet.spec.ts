import * as tf from '@tensorflow/tfjs';
import { GradientMethod, estimateGradient } from '../../lib/adjoint';
import { measurePeakBytes } from '../../lib/bench/peakMemory';
import { SyntheticEpsNet } from '../../lib/models/syntheticEpsNet';
import { TABLEAUS, makeEstimateProblem } from '../../lib/ode';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../../lib/schedule';
import { useTestBackend } from '../helpers/testBackend';
import { relativeL2 } from '../helpers/relativeError';

const schedule = new NoiseSchedule(SD_V1_SCHEDULER);
let net: SyntheticEpsNet;
let xT: tf.Tensor;
let target: tf.Tensor;
const loss = (x0hat: tf.Tensor) =>
  tf.tidy(() => tf.mul(tf.sum(tf.square(tf.sub(x0hat, target))), 0.5) as tf.Scalar);

beforeAll(async () => {
  await useTestBackend();
  net = new SyntheticEpsNet({ inChannels: 4, width: 16, groups: 8, seed: 3 });
  xT = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 11);
  target = tf.randomNormal([1, 8, 8, 4], 0, 0.5, 'float32', 12);
});

afterAll(() => {
  tf.dispose([xT, target]);
  net.dispose();
});

function gradientOf(method: GradientMethod, n: number, tableau: string, timestep = 701): tf.Tensor {
  const problem = makeEstimateProblem(net.eps, schedule, timestep, { n, tableau: TABLEAUS[tableau] });
  const { grad, x0hat, loss: value } = estimateGradient(method, problem, xT, loss);
  tf.dispose([x0hat, value]);
  return grad;
}

describe.each(Object.keys(TABLEAUS))('synthetic conv net, tableau %s', (tableau) => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'n = %i: symplectic and checkpointed equal direct backprop (rel. L2 <= 1e-5)',
    (n) => {
      const direct = gradientOf('direct', n, tableau);
      const symplectic = gradientOf('symplectic', n, tableau);
      const checkpointed = gradientOf('checkpointed', n, tableau);
      expect(relativeL2(symplectic, direct)).toBeLessThanOrEqual(1e-5);
      expect(relativeL2(checkpointed, direct)).toBeLessThanOrEqual(1e-5);
      tf.dispose([direct, symplectic, checkpointed]);
    },
  );
});

test('vanilla adjoint differs visibly from direct backprop on the conv net', () => {
  for (const n of [2, 4]) {
    const direct = gradientOf('direct', n, 'euler');
    const vanilla = gradientOf('vanilla', n, 'euler');
    expect(relativeL2(vanilla, direct)).toBeGreaterThan(1e-3);
    tf.dispose([direct, vanilla]);
  }
});

test('eps0 reuse gives the same gradient with one network call fewer', () => {
  const problem = makeEstimateProblem(net.eps, schedule, 501, { n: 3 });
  let calls = 0;
  const counting = makeEstimateProblem(
    (x, t) => {
      calls++;
      return net.predict(x, t);
    },
    schedule,
    501,
    { n: 3 },
  );
  const eps0 = net.predict(xT, 501);
  const plain = estimateGradient('symplectic', problem, xT, loss);
  const reused = estimateGradient('symplectic', counting, xT, loss, { eps0 });
  expect(calls).toBe(2 + 3);
  expect(relativeL2(reused.grad, plain.grad)).toBeLessThan(1e-6);
  tf.dispose([eps0, plain.grad, plain.x0hat, plain.loss, reused.grad, reused.x0hat, reused.loss]);
});

describe('memory', () => {
  async function peak(method: GradientMethod, n: number, tableau = 'euler'): Promise<number> {
    const problem = makeEstimateProblem(net.eps, schedule, 701, { n, tableau: TABLEAUS[tableau] });
    const run = await measurePeakBytes(() => estimateGradient(method, problem, xT, loss));
    tf.dispose([run.result.grad, run.result.x0hat, run.result.loss]);
    return run.peakBytes;
  }

  test('symplectic peak bytes are flat in n; direct backprop grows', async () => {
    const symplectic1 = await peak('symplectic', 1);
    const symplectic8 = await peak('symplectic', 8);
    const direct1 = await peak('direct', 1);
    const direct8 = await peak('direct', 8);
    expect(symplectic8).toBeLessThanOrEqual(1.1 * symplectic1);
    expect(direct8).toBeGreaterThanOrEqual(3 * direct1);
  });

  test('checkpointed peak bytes are flat in n but hold a whole RK4 step; symplectic holds one stage', async () => {
    const checkpointed1 = await peak('checkpointed', 1, 'rk4');
    const checkpointed8 = await peak('checkpointed', 8, 'rk4');
    const symplectic8 = await peak('symplectic', 8, 'rk4');
    expect(checkpointed8).toBeLessThanOrEqual(1.1 * checkpointed1);
    expect(checkpointed8).toBeGreaterThanOrEqual(2 * symplectic8);
  });

  test.each(['direct', 'checkpointed', 'vanilla', 'symplectic'] as GradientMethod[])(
    '%s leaves no tensors behind',
    (method) => {
      for (const tableau of ['euler', 'rk4']) {
        const before = tf.memory().numTensors;
        const grad = gradientOf(method, 3, tableau);
        grad.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    },
  );
});
