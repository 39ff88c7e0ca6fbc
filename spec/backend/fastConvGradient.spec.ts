import * as tf from '@tensorflow/tfjs';
import {
  convFilterGradientAsForwardConv,
  convInputGradientAsForwardConv,
  flipSpatially,
  startBackend,
} from '../../lib/backend';
import { CONV_GEOMETRIES, stockInputGradient } from '../helpers/convGeometries';
import { relativeL2 } from '../helpers/relativeError';

beforeAll(async () => {
  await startBackend('cpu', { announce: false });
  await import('@tensorflow/tfjs-backend-wasm');
});

describe.each(CONV_GEOMETRIES)('Conv2D input gradient, %s', (_name, xShape, k, stride, pad) => {
  test.each(['cpu', 'wasm'])('on %s, the forward-conv formula equals the stock kernel', async (backend) => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
    const filter = tf.randomNormal([k, k, xShape[3], 6], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, filter, stride, pad) as tf.Tensor4D;
    const dy = tf.randomNormal([...y.shape], 0, 1, 'float32', 3) as tf.Tensor4D;
    const fast = convInputGradientAsForwardConv(xShape as [number, number, number, number], dy, filter, {
      strides: stride,
      pad,
      dataFormat: 'NHWC',
      dilations: 1,
    });
    expect(fast).not.toBeNull();
    const stock = stockInputGradient(xShape, dy, filter, stride, pad);
    expect(relativeL2(fast as tf.Tensor, stock)).toBeLessThan(1e-5);
    // tf.grad goes through the registered gradient and must agree as well.
    const viaGrad = tf.grad((input: tf.Tensor) => tf.conv2d(input as tf.Tensor4D, filter, stride, pad))(
      x,
      dy,
    );
    expect(relativeL2(viaGrad, stock)).toBeLessThan(1e-5);
    tf.dispose([x, filter, y, dy, fast as tf.Tensor, stock, viaGrad]);
  });

  test.each(['cpu', 'wasm'])(
    'on %s, the filter gradient as a forward conv equals the stock kernel (cpu)',
    async (backend) => {
      expect(await tf.setBackend(backend)).toBe(true);
      const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
      const filterShape: [number, number, number, number] = [k, k, xShape[3], 6];
      const filter = tf.randomNormal(filterShape, 0, 1, 'float32', 2) as tf.Tensor4D;
      const dy = tf.randomNormal(
        [...(tf.conv2d(x, filter, stride, pad) as tf.Tensor4D).shape],
        0,
        1,
        'float32',
        3,
      ) as tf.Tensor4D;
      const fast = convFilterGradientAsForwardConv(x, dy, filterShape, {
        strides: stride,
        pad,
        dataFormat: 'NHWC',
        dilations: 1,
      });
      const viaGrad = tf.grad((f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, stride, pad))(filter, dy);
      const fastData = fast.dataSync().slice();
      const viaGradData = viaGrad.dataSync().slice();
      await tf.setBackend('cpu');
      const stock = tf
        .engine()
        .runKernel(
          tf.Conv2DBackpropFilter,
          { x: tf.tensor(x.dataSync(), x.shape), dy: tf.tensor(dy.dataSync(), dy.shape) },
          {
            strides: [stride, stride],
            pad,
            dataFormat: 'NHWC',
            filterShape,
          } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
      expect(relativeL2(fastData, stock)).toBeLessThan(1e-5);
      expect(relativeL2(viaGradData, stock)).toBeLessThan(1e-5);
    },
  );
});

test('the filter gradient still works through the registered gradient', async () => {
  await tf.setBackend('cpu');
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const g = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'same')))(filter);
  const eps = 1e-2;
  const bumped = tf.tidy(() => tf.add(filter, tf.oneHot([0], 54).reshape(filter.shape).mul(eps)));
  const numeric =
    (tf.sum(tf.conv2d(x, bumped as tf.Tensor4D, 1, 'same')).dataSync()[0] -
      tf.sum(tf.conv2d(x, filter, 1, 'same')).dataSync()[0]) /
    eps;
  expect(g.dataSync()[0]).toBeCloseTo(numeric, 2);
});

test.each([
  ['cpu', [3, 3, 4, 5]],
  ['wasm', [3, 3, 4, 5]],
  ['wasm', [1, 3, 2, 2]],
  ['wasm', [5, 2, 3, 1]],
  ['wasm', [1, 1, 3, 3]],
] as const)(
  'on %s, flipSpatially of a %j kernel equals tf.reverse over both spatial axes, exactly',
  async (backend, shape) => {
    await tf.setBackend(backend);
    const filter = tf.randomNormal([...shape], 0, 1, 'float32', 6) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const flipped = flipSpatially(filter);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(flipped.shape).toEqual(filter.shape);
    expect(Array.from(await flipped.data())).toEqual(Array.from(await tf.reverse(filter, [0, 1]).data()));
  },
);
