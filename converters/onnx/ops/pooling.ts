import { Ref } from '../../graph/graphBuilder';
import { attr } from '../../graph/tfAttr';
import { OnnxOpExecutor } from '../onnxOpContext';

/**
 * MaxPool without padding. IR-SE shortcuts use MaxPool(kernel 1, stride s), a subsampling: emitted as a stride-s
 * identity 1x1 convolution, whose gradient is exact on every backend (wasm's MaxPool gradient is wrong for >= 3
 * channels).
 */
const maxPool: OnnxOpExecutor = (node, ctx) => {
  const { o, g } = ctx;
  const x = ctx.value(node, node.inputs[0]);
  const [kh, kw] = ctx.ints(node, 'kernel_shape', [1, 1]);
  const [sh, sw] = ctx.ints(node, 'strides', [1, 1]);
  const pads = ctx.ints(node, 'pads', [0, 0, 0, 0]);
  if (pads.some((p) => p !== 0) || sh !== sw)
    ctx.fail(node, 'only unpadded max pooling with equal strides is supported');
  const [n, c, h, w] = x.shape;
  if (c === null) return ctx.fail(node, 'the channel count must be static');
  let y: Ref;
  if (kh === 1 && kw === 1) {
    const eye = new Float32Array(c * c);
    for (let i = 0; i < c; i++) eye[i * c + i] = 1;
    y = o.conv2d(x.ref, g.constant(`${node.name}/identity`, eye, [1, 1, c, c], 'float32', true), sh, 'VALID');
  } else {
    y = g.op('MaxPool', [x.ref], {
      ksize: attr.ints([1, kh, kw, 1]),
      strides: attr.ints([1, sh, sw, 1]),
      padding: attr.string('VALID'),
      data_format: attr.string('NHWC'),
    });
  }
  const out = (size: number | null, k: number) => (size === null ? null : Math.floor((size - k) / sh) + 1);
  ctx.set(node, y, [n, c, out(h, kh), out(w, kw)]);
};

const globalAveragePool: OnnxOpExecutor = (node, ctx) => {
  const x = ctx.value(node, node.inputs[0]);
  if (x.shape.length !== 4) ctx.fail(node, 'expected a rank-4 input');
  ctx.set(node, ctx.o.mean(x.ref, [1, 2]), [x.shape[0], x.shape[1], 1, 1]);
};

export const POOLING_OPS: Record<string, OnnxOpExecutor> = {
  MaxPool: maxPool,
  GlobalAveragePool: globalAveragePool,
};
