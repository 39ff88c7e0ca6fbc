import * as tf from '@tensorflow/tfjs';
import { Replacement, gradientReplacement } from './replacement';

/**
 * Backends on which the input gradient of Conv2D runs faster as a forward convolution with the flipped, transposed
 * kernel than as the stock Conv2DBackpropInput kernel (measured: wasm ~8x, webgpu ~15x, cpu ~1.6x).
 */
const FAST_BACKENDS = new Set(['wasm', 'webgpu', 'cpu']);

type Pad =
  'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

export interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function pair(v: [number, number] | number): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** Output size and padding of an NHWC Conv2D, as tfjs computes them. */
export function convGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
) {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    pair(attrs.strides),
    pair(attrs.dilations),
    attrs.pad as 'same',
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Backends on which the kernel flip is faster as a product with a permutation matrix than as tf.reverse. */
const FLIP_BY_PRODUCT_BACKENDS = new Set(['wasm', 'cpu']);

/**
 * filter[kh - 1 - i, kw - 1 - j, ...]: the kernel rotated by 180 degrees. Flipping both spatial axes reverses the
 * order of the kh*kw taps, so on wasm and cpu it is one product with a k x k anti-diagonal permutation matrix
 * (exact: each output sums one 1 * w and zeros); tf.reverse does the same ~10x slower on wasm (610 against 60 ms for
 * a 3x3x1280x1280 kernel). On webgpu tf.reverse is the faster one (290 against 1740 ms on lavapipe), and the
 * product would be refused for SD's largest kernels (3x3x2560x1280: a dispatch over 65535 workgroups).
 */
export function flipSpatially(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, a, b] = filter.shape;
  const taps = kh * kw;
  if (taps === 1) return filter.clone();
  if (!FLIP_BY_PRODUCT_BACKENDS.has(tf.getBackend())) return tf.reverse(filter, [0, 1]);
  return tf.tidy(() => {
    const reversal = tf.tensor2d(
      Array.from({ length: taps * taps }, (_, k) => (Math.floor(k / taps) + (k % taps) === taps - 1 ? 1 : 0)),
      [taps, taps],
    );
    return tf.matMul(reversal, filter.reshape([taps, a * b])).reshape([kh, kw, a, b]) as tf.Tensor4D;
  });
}

/**
 * Inserts (stride - 1) zeros between the rows and columns of dy (NHWC). Built from rank-4 pads only: webgpu's pad
 * kernel emits invalid WGSL for rank 6 ("cannot index type 'vec6'").
 */
export function dilateSpatially(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  return tf.tidy(() => {
    // Columns: each pixel becomes [pixel, 0 x (sw - 1)] along a new axis folded back into the width.
    const columns = tf
      .pad(dy.reshape([n * h, w, 1, c]), [
        [0, 0],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ])
      .reshape([n, h, 1, w * sw * c]);
    // Rows: each row becomes [row, 0 x (sh - 1)].
    const rows = tf.pad(columns, [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
    ]);
    return rows
      .reshape([n, h * sh, w * sw, c])
      .slice([0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
  });
}

/**
 * dL/dx of an NHWC Conv2D as a forward convolution: dx = conv(dilate(dy), flip(transpose(filter))) with padding
 * (k - 1 - padBefore, k - 1 - padAfter + extra), where extra covers input rows the forward conv never reached.
 * Returns null when the geometry is outside what this formula covers (then the stock kernel is used).
 */
export function convInputGradientAsForwardConv(
  xShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: Conv2DAttrs,
): tf.Tensor4D | null {
  const [sh, sw] = pair(attrs.strides);
  const [kh, kw] = [filter.shape[0], filter.shape[1]];
  const info = convGeometry(xShape, filter.shape, attrs);
  const [inH, inW] = [xShape[1], xShape[2]];
  const dilatedH = (info.outHeight - 1) * sh + 1;
  const dilatedW = (info.outWidth - 1) * sw + 1;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = inH - dilatedH - top + kh - 1;
  const right = inW - dilatedW - left + kw - 1;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  return tf.tidy(() => {
    const flipped = flipSpatially(tf.transpose(filter, [0, 1, 3, 2]));
    const spread = dilateSpatially(dy, sh, sw);
    return tf.conv2d(
      spread,
      flipped,
      1,
      [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      'NHWC',
    );
  });
}

/**
 * dL/dfilter of an NHWC Conv2D as a forward convolution in which the batch and channel axes swap roles:
 * dW[a, b, ci, co] = sum_{n,i,j} xpad[n, s i + a, s j + b, ci] dy[n, i, j, co] is a dilated (rate s) valid
 * convolution of xpad^T [Ci, Hp, Wp, N] with dy^T [Ho, Wo, N, Co]. wasm has no Conv2DBackpropFilter kernel.
 */
export function convFilterGradientAsForwardConv(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): tf.Tensor4D {
  const [sh, sw] = pair(attrs.strides);
  const [kh, kw] = filterShape;
  const info = convGeometry(x.shape, filterShape, attrs);
  const [, inH, inW] = x.shape;
  const [, outH, outW] = dy.shape;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const bottom = Math.max(0, sh * (outH - 1) + kh - inH - top);
  const right = Math.max(0, sw * (outW - 1) + kw - inW - left);
  return tf.tidy(() => {
    let xp = tf.pad(x, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
    // Rows beyond the last window never contribute; crop so the output is exactly kh x kw.
    xp = xp.slice([0, 0, 0, 0], [-1, sh * (outH - 1) + kh, sw * (outW - 1) + kw, -1]);
    const swapped = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
    const kernel = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const out = tf.conv2d(swapped, kernel, 1, 'valid', 'NHWC', [sh, sw]);
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * The Conv2D gradient: on the backends in FAST_BACKENDS the input gradient is a forward convolution, and on wasm
 * (which lacks Conv2DBackpropFilter) the filter gradient too.
 */
export const FAST_CONV_GRADIENT: Replacement = gradientReplacement(
  'Conv2D gradient: input gradient as a forward convolution (wasm, webgpu, cpu); filter gradient too on wasm',
  {
    kernelName: tf.Conv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], rawAttrs: tf.NamedAttrMap) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const attrs = rawAttrs as unknown as Conv2DAttrs;
      const grad = dy as tf.Tensor4D;
      const [dh, dw] = pair(attrs.dilations);
      if (dh !== 1 || dw !== 1) {
        throw new Error(
          `gradient of conv2d: dilation rates greater than 1 are not supported (got ${dh}x${dw})`,
        );
      }
      return {
        x: () => {
          if (attrs.dataFormat === 'NHWC' && FAST_BACKENDS.has(tf.getBackend())) {
            const fast = convInputGradientAsForwardConv(x.shape, grad, filter, attrs);
            if (fast) return fast;
          }
          return stockConvBackpropInput(x, grad, filter, attrs);
        },
        filter: () =>
          attrs.dataFormat === 'NHWC' && tf.getBackend() === 'wasm'
            ? convFilterGradientAsForwardConv(x, grad, filter.shape, attrs)
            : stockConvBackpropFilter(x, grad, filter, attrs),
      };
    },
  },
);

function stockConvBackpropInput(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: Conv2DAttrs,
): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, {
    strides: attrs.strides,
    pad: attrs.pad,
    dataFormat: attrs.dataFormat,
    dimRoundingMode: attrs.dimRoundingMode,
    inputShape: x.shape,
  } as unknown as tf.NamedAttrMap);
}

function stockConvBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: Conv2DAttrs,
): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
    strides: attrs.strides,
    pad: attrs.pad,
    dataFormat: attrs.dataFormat,
    dimRoundingMode: attrs.dimRoundingMode,
    filterShape: filter.shape,
  } as unknown as tf.NamedAttrMap);
}
