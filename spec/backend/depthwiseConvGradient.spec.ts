import * as tf from '@tensorflow/tfjs';
import { depthwiseInputGradientAsForwardConv, startBackend } from '../../lib/backend';
import { relativeL2 } from '../helpers/relativeError';

beforeAll(async () => {
  await startBackend('cpu', { announce: false });
  await import('@tensorflow/tfjs-backend-wasm');
});

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

const explicit = (t: number, b: number): Pad => [
  [0, 0],
  [t, b],
  [t, b],
  [0, 0],
];

/** [name, x shape, kernel, multiplier, stride, pad] */
const geometries: [string, [number, number, number, number], number, number, number, Pad][] = [
  ['3x3 stride 1 same', [2, 9, 7, 5], 3, 1, 1, 'same'],
  ['3x3 stride 2 explicit 1 (MobileFaceNet downsample)', [1, 8, 8, 4], 3, 1, 2, explicit(1, 1)],
  ['3x3 stride 2 same, odd size, multiplier 2', [1, 9, 7, 3], 3, 2, 2, 'same'],
  ['7x7 valid over the whole map (global depthwise conv)', [2, 7, 7, 6], 7, 1, 1, 'valid'],
  ['3x3 stride 1 valid, multiplier 3', [1, 6, 6, 2], 3, 3, 1, 'valid'],
];

/** The stock kernel on cpu, the reference. */
async function stockInputGradient(
  xShape: number[],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  stride: number,
  pad: Pad,
): Promise<Float32Array> {
  const backend = tf.getBackend();
  const dyData = dy.dataSync().slice();
  const filterData = filter.dataSync().slice();
  await tf.setBackend('cpu');
  const result = tf
    .engine()
    .runKernel(
      tf.DepthwiseConv2dNativeBackpropInput,
      { dy: tf.tensor(dyData, dy.shape), filter: tf.tensor(filterData, filter.shape) },
      { strides: [stride, stride], pad, dilations: [1, 1], inputShape: xShape } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
  const data = result.dataSync().slice() as Float32Array;
  await tf.setBackend(backend);
  return data;
}

describe.each(geometries)('DepthwiseConv2dNative input gradient, %s', (_name, xShape, k, m, stride, pad) => {
  test.each(['cpu', 'wasm'])('on %s, tf.grad equals the stock cpu kernel', async (backend) => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.randomNormal(xShape, 0, 1, 'float32', 1) as tf.Tensor4D;
    const filter = tf.randomNormal([k, k, xShape[3], m], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.depthwiseConv2d(x, filter, stride, pad);
    const dy = tf.randomNormal([...y.shape], 0, 1, 'float32', 3) as tf.Tensor4D;
    const direct = depthwiseInputGradientAsForwardConv(xShape, dy, filter, { strides: stride, pad });
    expect(direct).not.toBeNull();
    const viaGrad = tf.grad((input: tf.Tensor) =>
      tf.depthwiseConv2d(input as tf.Tensor4D, filter, stride, pad),
    )(x, dy);
    const stock = await stockInputGradient(xShape, dy, filter, stride, pad);
    expect(relativeL2(viaGrad, stock)).toBeLessThan(1e-5);
    expect(relativeL2(direct as tf.Tensor, stock)).toBeLessThan(1e-5);
    tf.dispose([x, filter, y, dy, direct as tf.Tensor, viaGrad]);
  });
});
