import * as tf from '@tensorflow/tfjs';
import { GradientMethod, cleanEstimateOp, estimateGradient } from '../../lib/adjoint';
import { startBackend } from '../../lib/backend';
import { readValues } from '../../lib/backend/readTensor';
import { SyntheticEpsNet } from '../../lib/models/syntheticEpsNet';
import { TABLEAUS, makeEstimateProblem } from '../../lib/ode';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../../lib/schedule';
import { CONV_GEOMETRIES, stockInputGradient } from '../helpers/convGeometries';
import { digitUnetGradient } from '../helpers/digitUnetGradient';
import { relativeL2 } from '../helpers/relativeError';
import { describeOnWebgpu } from '../helpers/webgpuSuite';

/** Runs fn on a backend and reads its result back (asynchronously, so it works on webgpu). */
async function on(backend: 'webgpu' | 'cpu', fn: () => tf.Tensor): Promise<Float32Array> {
  expect(await tf.setBackend(backend)).toBe(true);
  const result = tf.tidy(fn);
  const values = (await readValues(result)) as Float32Array;
  result.dispose();
  return values;
}

describeOnWebgpu('webgpu kernels behind the VJPs, against the cpu backend', () => {
  beforeAll(async () => {
    await startBackend('cpu', { announce: false });
    await startBackend('webgpu', { announce: false });
  });

  describe.each(CONV_GEOMETRIES)('Conv2D input gradient, %s', (_name, xShape, k, stride, pad) => {
    test('tf.grad on webgpu (forward-conv formula) equals the stock kernel on cpu', async () => {
      const inputs = () => ({
        x: tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D,
        filter: tf.randomNormal([k, k, xShape[3], 6], 0, 1, 'float32', 2) as tf.Tensor4D,
      });
      const dyFor = (x: tf.Tensor4D, filter: tf.Tensor4D) =>
        tf.randomNormal(tf.conv2d(x, filter, stride, pad).shape, 0, 1, 'float32', 3) as tf.Tensor4D;
      const viaGrad = await on('webgpu', () => {
        const { x, filter } = inputs();
        return tf.grad((input: tf.Tensor) => tf.conv2d(input as tf.Tensor4D, filter, stride, pad))(
          x,
          dyFor(x, filter),
        );
      });
      const stock = await on('cpu', () => {
        const { x, filter } = inputs();
        return stockInputGradient(xShape, dyFor(x, filter), filter, stride, pad);
      });
      expect(relativeL2(viaGrad, stock)).toBeLessThan(1e-5);
    });
  });

  test("the input gradient through SD's largest conv kernel (3x3x2560x1280: its flip was once a product over 2^21 columns, which webgpu refuses)", async () => {
    const inputs = () => ({
      x: tf.randomNormal([1, 2, 2, 2560], 0, 1, 'float32', 7) as tf.Tensor4D,
      filter: tf.randomNormal([3, 3, 2560, 1280], 0, 0.01, 'float32', 8) as tf.Tensor4D,
    });
    const viaGrad = await on('webgpu', () => {
      const { x, filter } = inputs();
      return tf.grad((input: tf.Tensor) => tf.conv2d(input as tf.Tensor4D, filter, 1, 'same'))(x);
    });
    const stock = await on('cpu', () => {
      const { x, filter } = inputs();
      return stockInputGradient(x.shape, tf.ones([1, 2, 2, 1280]) as tf.Tensor4D, filter, 1, 'same');
    });
    expect(relativeL2(viaGrad, stock)).toBeLessThan(1e-5);
  });

  test.each([
    [1, 1],
    [2, 1],
    [2, 2],
  ])('depthwise conv input gradient, stride %i, multiplier %i', async (stride, multiplier) => {
    const f = () => {
      const x = tf.randomNormal([2, 9, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const filter = tf.randomNormal([3, 3, 3, multiplier], 0, 1, 'float32', 5) as tf.Tensor4D;
      const dy = tf.randomNormal(tf.depthwiseConv2d(x, filter, stride, 'same').shape, 0, 1, 'float32', 6);
      return tf.grad((input: tf.Tensor) => tf.depthwiseConv2d(input as tf.Tensor4D, filter, stride, 'same'))(
        x,
        dy,
      );
    };
    // Both through sag's registered gradient; the cpu path is checked against the stock kernel elsewhere.
    expect(relativeL2(await on('webgpu', f), await on('cpu', f))).toBeLessThan(1e-5);
  });

  test('nearest-neighbour upsampling gradient at batch 2', async () => {
    const f = () => {
      const x = tf.randomNormal([2, 4, 5, 3], 0, 1, 'float32', 7);
      const dy = tf.randomNormal([2, 8, 10, 3], 0, 1, 'float32', 8);
      return tf.grad((input: tf.Tensor) => tf.image.resizeNearestNeighbor(input as tf.Tensor4D, [8, 10]))(
        x,
        dy,
      );
    };
    // cpu runs sag's replacement kernel (tfjs's own is wrong at batch > 1; spec/backend checks it).
    expect(relativeL2(await on('webgpu', f), await on('cpu', f))).toBeLessThan(1e-6);
  });

  test('the SAG gradient through the embedded UNet at batch 2 matches wasm', async () => {
    await startBackend('wasm', { announce: false });
    const wasm = await digitUnetGradient(2);
    expect(await tf.setBackend('webgpu')).toBe(true);
    expect(relativeL2(await digitUnetGradient(2), wasm)).toBeLessThan(1e-4);
  }, 180_000);

  describe('adjoint exactness on webgpu (synthetic conv net with GroupNorm, attention, up/downsampling)', () => {
    const schedule = new NoiseSchedule(SD_V1_SCHEDULER);
    const gradientOf = async (
      method: GradientMethod,
      n: number,
      tableau: string,
      backend: 'webgpu' | 'cpu' = 'webgpu',
    ) => {
      expect(await tf.setBackend(backend)).toBe(true);
      const net = new SyntheticEpsNet({ inChannels: 4, width: 16, groups: 8, seed: 3 });
      const xT = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 11);
      const target = tf.randomNormal([1, 8, 8, 4], 0, 0.5, 'float32', 12);
      const loss = (x0hat: tf.Tensor) =>
        tf.tidy(() => tf.mul(tf.sum(tf.square(tf.sub(x0hat, target))), 0.5) as tf.Scalar);
      const problem = makeEstimateProblem(net.eps, schedule, 701, { n, tableau: TABLEAUS[tableau] });
      const result = estimateGradient(method, problem, xT, loss);
      const values = (await readValues(result.grad)) as Float32Array;
      tf.dispose([result.grad, result.x0hat, result.loss, xT, target]);
      net.dispose();
      return values;
    };

    test.each([
      ['euler', 4],
      ['rk4', 2],
    ])(
      '%s, n = %i: symplectic and checkpointed equal direct backprop (rel. L2 <= 1e-5)',
      async (tableau, n) => {
        const direct = await gradientOf('direct', n as number, tableau as string);
        const symplectic = await gradientOf('symplectic', n as number, tableau as string);
        const checkpointed = await gradientOf('checkpointed', n as number, tableau as string);
        expect(relativeL2(symplectic, direct)).toBeLessThanOrEqual(1e-5);
        expect(relativeL2(checkpointed, direct)).toBeLessThanOrEqual(1e-5);
      },
    );

    test('heun, n = 3: the symplectic gradient on webgpu equals the one on cpu (rel. L2 <= 1e-5)', async () => {
      const webgpu = await gradientOf('symplectic', 3, 'heun');
      const cpu = await gradientOf('symplectic', 3, 'heun', 'cpu');
      expect(relativeL2(webgpu, cpu)).toBeLessThanOrEqual(1e-5);
    });

    test('euler, n = 3: tf.grad through cleanEstimateOp equals direct backprop on webgpu', async () => {
      expect(await tf.setBackend('webgpu')).toBe(true);
      const net = new SyntheticEpsNet({ inChannels: 4, width: 16, groups: 8, seed: 3 });
      const xT = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 11);
      const problem = makeEstimateProblem(net.eps, schedule, 701, { n: 3, tableau: TABLEAUS.euler });
      const loss = (x0: tf.Tensor) => tf.sum(tf.log(tf.add(tf.square(x0), 1))) as tf.Scalar;
      const before = tf.memory().numTensors;
      const viaOp = tf.grad((x: tf.Tensor) => loss(cleanEstimateOp(problem)(x)))(xT);
      expect(tf.memory().numTensors).toBe(before + 1);
      const direct = estimateGradient('direct', problem, xT, loss);
      expect(relativeL2(await readValues(viaOp), await readValues(direct.grad))).toBeLessThanOrEqual(1e-5);
      tf.dispose([viaOp, direct.grad, direct.x0hat, direct.loss, xT]);
      net.dispose();
    });
  });
});
