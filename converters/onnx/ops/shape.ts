import { OnnxOpExecutor } from '../onnxOpContext';

/** Flatten(axis 1): rank-4 activations are flattened in ONNX's NCHW order, so the NHWC value is transposed first. */
const flatten: OnnxOpExecutor = (node, ctx) => {
  const x = ctx.value(node, node.inputs[0]);
  if ((ctx.attribute(node, 'axis')?.i ?? 1) !== 1) ctx.fail(node, 'only axis = 1 is supported');
  const rest = x.shape.slice(1);
  if (rest.some((d) => d === null)) ctx.fail(node, 'flattened dims must be static');
  const size = (rest as number[]).reduce((p, q) => p * q, 1);
  const source = x.shape.length === 4 ? ctx.toNchw(x) : x.ref;
  ctx.set(node, ctx.o.reshape(source, [-1, size]), [x.shape[0], size]);
};

/** Reshape to a constant shape of rank other than 4 (0 copies the input's dim; the batch stays free). */
const reshape: OnnxOpExecutor = (node, ctx) => {
  const x = ctx.value(node, node.inputs[0]);
  const target = ctx.initializer(node.inputs[1]);
  if (!target || target.isFloat) return ctx.fail(node, 'the target shape must be an integer initializer');
  const dims = (target.data as number[]).map((d, i) => (d === 0 ? (x.shape[i] ?? -1) : d));
  dims[0] = -1;
  if (dims.length === 4) ctx.fail(node, 'reshaping to rank 4 is not supported');
  const source = x.shape.length === 4 ? ctx.toNchw(x) : x.ref;
  ctx.set(node, ctx.o.reshape(source, dims), [x.shape[0], ...dims.slice(1)]);
};

/** Transpose of a non-image value (default: reversed axes). */
const transpose: OnnxOpExecutor = (node, ctx) => {
  const x = ctx.value(node, node.inputs[0]);
  if (x.shape.length === 4) ctx.fail(node, 'transposing rank-4 activations is not supported');
  const perm = ctx.ints(
    node,
    'perm',
    x.shape.map((_, i) => x.shape.length - 1 - i),
  );
  ctx.set(
    node,
    ctx.o.transpose(x.ref, perm),
    perm.map((p) => x.shape[p]),
  );
};

/** Constant-mode spatial padding of an image (pads from the attribute, or from an initializer since opset 11). */
const pad: OnnxOpExecutor = (node, ctx) => {
  const x = ctx.value(node, node.inputs[0]);
  const padsInit = node.inputs[1] ? ctx.initializer(node.inputs[1]) : undefined;
  const pads = padsInit ? (padsInit.data as number[]) : ctx.ints(node, 'pads', []);
  const mode = ctx.attribute(node, 'mode')?.s ?? 'constant';
  if (mode !== 'constant') ctx.fail(node, `pad mode '${mode}' is not supported`);
  if (node.inputs[2]) {
    const value = ctx.initializer(node.inputs[2]);
    if (!value || value.data.some((v) => v !== 0)) ctx.fail(node, 'only zero padding is supported');
  }
  if (x.shape.length !== 4 || pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5])
    ctx.fail(node, 'only spatial padding of rank-4 inputs is supported');
  const [, , t, l, , , b, r] = pads;
  const [n, c, h, w] = x.shape;
  ctx.set(
    node,
    ctx.o.pad(x.ref, [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ]),
    [n, c, h === null ? null : h + t + b, w === null ? null : w + l + r],
  );
};

export const SHAPE_OPS: Record<string, OnnxOpExecutor> = {
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Pad: pad,
};
