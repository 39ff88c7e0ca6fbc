import { OnnxNode } from '../onnxModel';
import { OnnxOpContext, OnnxOpExecutor } from '../onnxOpContext';

/** Gemm (alpha * x W(^T) + beta * bias, no transA) and MatMul with a constant weight, on rank-2 inputs. */
function linear(node: OnnxNode, ctx: OnnxOpContext, gemm: boolean): void {
  const { o, g } = ctx;
  const x = ctx.value(node, node.inputs[0]);
  const weight = ctx.floatInit(node, node.inputs[1]);
  if (x.shape.length !== 2) ctx.fail(node, 'expected a rank-2 input');
  if (gemm && (ctx.attribute(node, 'transA')?.i ?? 0) !== 0) ctx.fail(node, 'transA is not supported');
  const transB = gemm && (ctx.attribute(node, 'transB')?.i ?? 0) === 1;
  const inDim = transB ? weight.dims[1] : weight.dims[0];
  if (x.shape[1] !== null && x.shape[1] !== inDim)
    ctx.fail(node, `the input has ${x.shape[1]} features, the weight [${weight.dims}] expects ${inDim}`);
  let y = o.matmul(x.ref, g.constant(node.inputs[1], weight.data, weight.dims), false, transB);
  if (gemm) y = o.scale(y, ctx.attribute(node, 'alpha')?.f ?? 1);
  const outDim = transB ? weight.dims[0] : weight.dims[1];
  if (gemm && node.inputs[2]) {
    const beta = ctx.attribute(node, 'beta')?.f ?? 1;
    const bias = ctx.floatInit(node, node.inputs[2]).data.map((v) => v * beta);
    y = o.add(y, g.constant(node.inputs[2], bias, [bias.length]));
  }
  ctx.set(node, y, [x.shape[0], outDim]);
}

export const LINEAR_OPS: Record<string, OnnxOpExecutor> = {
  Gemm: (node, ctx) => linear(node, ctx, true),
  MatMul: (node, ctx) => linear(node, ctx, false),
};
