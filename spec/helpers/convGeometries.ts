import * as tf from '@tensorflow/tfjs';

export type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** The stock Conv2DBackpropInput kernel, which the registered gradient replaces. */
export function stockInputGradient(
  xShape: number[],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number,
  pad: Pad,
) {
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, {
    strides: [strides, strides],
    pad,
    dataFormat: 'NHWC',
    inputShape: xShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Conv geometries the input-gradient formula must cover: name, x shape, kernel size, stride, padding. */
export const CONV_GEOMETRIES: [string, [number, number, number, number], number, number, Pad][] = [
  ['3x3 stride 1 same', [2, 9, 7, 5], 3, 1, 'same'],
  ['3x3 stride 1 valid', [1, 8, 8, 3], 3, 1, 'valid'],
  ['1x1 stride 1', [2, 6, 6, 4], 1, 1, 'same'],
  ['3x3 stride 2 same, even size', [2, 8, 8, 3], 3, 2, 'same'],
  ['3x3 stride 2 same, odd size', [1, 9, 7, 3], 3, 2, 'same'],
  ['3x3 stride 2 valid', [1, 9, 9, 2], 3, 2, 'valid'],
  [
    '3x3 stride 2 explicit (0,1) padding (diffusers downsample)',
    [1, 8, 8, 3],
    3,
    2,
    [
      [0, 0],
      [0, 1],
      [0, 1],
      [0, 0],
    ],
  ],
  [
    '4x4 stride 2 explicit padding',
    [1, 8, 8, 2],
    4,
    2,
    [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  ],
  ['7x7 stride 2 same (ResNet stem)', [1, 14, 14, 3], 7, 2, 'same'],
];
