import * as tf from '@tensorflow/tfjs';
import { Replacement, gradientReplacement } from './replacement';
import { dilateSpatially, flipSpatially, pair } from './fastConvGradient';

interface DepthwiseAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * dL/dx of an NHWC depthwise convolution (filter [kh, kw, C, m]) as a forward depthwise convolution of the
 * stride-spread cotangent with the spatially flipped filter, one channel per output channel c*m + j, summed over
 * j. wasm has no DepthwiseConv2dNativeBackpropInput kernel; this runs on every backend. Null when the geometry is
 * outside what the formula covers.
 */
export function depthwiseInputGradientAsForwardConv(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: DepthwiseAttrs,
): tf.Tensor4D | null {
  const [sh, sw] = pair(attrs.strides);
  const [kh, kw, channels, multiplier] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filter.shape,
    [sh, sw],
    [1, 1],
    attrs.pad as 'same',
    attrs.dimRoundingMode,
    true,
    'channelsLast',
  );
  const [batch, inH, inW] = xShape;
  const dilatedH = (info.outHeight - 1) * sh + 1;
  const dilatedW = (info.outWidth - 1) * sw + 1;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = inH - dilatedH - top + kh - 1;
  const right = inW - dilatedW - left + kw - 1;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  return tf.tidy(() => {
    const spread = dilateSpatially(dy, sh, sw);
    const padded = tf.pad(spread, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
    const flipped = flipSpatially(filter).reshape([kh, kw, channels * multiplier, 1]) as tf.Tensor4D;
    const perOutput = tf.depthwiseConv2d(padded, flipped, 1, 'valid');
    return multiplier === 1
      ? perOutput
      : (perOutput.reshape([batch, inH, inW, channels, multiplier]).sum(4) as tf.Tensor4D);
  });
}

/**
 * The DepthwiseConv2dNative gradient with the input gradient as a forward depthwise convolution (it works on wasm,
 * which lacks the backprop-input kernel); the filter gradient stays tfjs's.
 */
export const DEPTHWISE_CONV_GRADIENT: Replacement = gradientReplacement(
  'DepthwiseConv2dNative gradient: input gradient as a forward depthwise convolution (wasm has no kernel for it)',
  {
    kernelName: tf.DepthwiseConv2dNative,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], rawAttrs: tf.NamedAttrMap) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const attrs = rawAttrs as unknown as DepthwiseAttrs;
      const grad = dy as tf.Tensor4D;
      const [dh, dw] = pair(attrs.dilations ?? 1);
      if (dh !== 1 || dw !== 1)
        throw new Error(`gradient of depthwise conv2d: dilation rates greater than 1 are not supported`);
      const [sh, sw] = pair(attrs.strides);
      return {
        x: () =>
          depthwiseInputGradientAsForwardConv(x.shape, grad, filter, attrs) ??
          tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: grad, filter }, {
            strides: [sh, sw],
            pad: attrs.pad,
            dimRoundingMode: attrs.dimRoundingMode,
            dilations: [1, 1],
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap),
        filter: () =>
          tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy: grad }, {
            strides: [sh, sw],
            pad: attrs.pad,
            dimRoundingMode: attrs.dimRoundingMode,
            dilations: [1, 1],
            filterShape: filter.shape,
          } as unknown as tf.NamedAttrMap),
      };
    },
  },
);
