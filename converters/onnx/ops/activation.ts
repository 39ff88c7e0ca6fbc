import { OnnxOpExecutor } from '../onnxOpContext';

/** PRelu(x) = relu(x) - slope * relu(-x), with a scalar or per-channel slope. */
const prelu: OnnxOpExecutor = (node, ctx) => {
  const { o } = ctx;
  const x = ctx.value(node, node.inputs[0]);
  const slope = ctx.floatInit(node, node.inputs[1]).data;
  const slopeRef = ctx.g.constant(node.inputs[1], slope, slope.length === 1 ? [] : [slope.length]);
  ctx.set(
    node,
    o.sub(o.unary('Relu', x.ref), o.mul(slopeRef, o.unary('Relu', o.unary('Neg', x.ref)))),
    x.shape,
  );
};

const unary =
  (op: 'Relu' | 'Sigmoid'): OnnxOpExecutor =>
  (node, ctx) => {
    const x = ctx.value(node, node.inputs[0]);
    ctx.set(node, ctx.o.unary(op, x.ref), x.shape);
  };

export const ACTIVATION_OPS: Record<string, OnnxOpExecutor> = {
  PRelu: prelu,
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
};
