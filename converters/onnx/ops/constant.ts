import { OnnxOpExecutor } from '../onnxOpContext';

/** Constant (tensor-valued): becomes an initializer that later nodes read like any other. */
const constant: OnnxOpExecutor = (node, ctx) => {
  const t = ctx.attribute(node, 'value')?.t;
  if (!t) return ctx.fail(node, 'only tensor-valued constants are supported');
  ctx.defineInitializer(node.outputs[0], { ...t, name: node.outputs[0] });
};

export const CONSTANT_OPS: Record<string, OnnxOpExecutor> = { Constant: constant };
