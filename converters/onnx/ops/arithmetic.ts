import { OnnxOpExecutor } from '../onnxOpContext';

/** Elementwise binary ops with ONNX (numpy) broadcasting; per-channel constants were made [C] by the context. */
const binary =
  (op: 'add' | 'sub' | 'mul' | 'div'): OnnxOpExecutor =>
  (node, ctx) => {
    const x = ctx.value(node, node.inputs[0]);
    const y = ctx.value(node, node.inputs[1]);
    ctx.set(node, ctx.o[op](x.ref, y.ref), x.shape.length >= y.shape.length ? x.shape : y.shape);
  };

/** Identity, and Dropout at inference: the output is the input. */
const passThrough: OnnxOpExecutor = (node, ctx) => ctx.alias(node, ctx.value(node, node.inputs[0]));

export const ARITHMETIC_OPS: Record<string, OnnxOpExecutor> = {
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Identity: passThrough,
  Dropout: passThrough,
};
