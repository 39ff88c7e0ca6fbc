import * as tf from '@tensorflow/tfjs';
import { SAG_ATTENTION, SAG_GROUP_NORM } from '../../lib/kernels';
import { GraphNode } from './graphBuilder';

/** Graph op -> the tfjs kernel whose gradient tf.grad uses for it. */
const KERNEL_OF_OP: Record<string, string> = {
  AddV2: tf.Add,
  Sub: tf.Sub,
  Mul: tf.Multiply,
  RealDiv: tf.RealDiv,
  Neg: tf.Neg,
  Square: tf.Square,
  Rsqrt: tf.Rsqrt,
  Sqrt: tf.Sqrt,
  Sigmoid: tf.Sigmoid,
  Tanh: tf.Tanh,
  Erf: tf.Erf,
  Exp: tf.Exp,
  Sin: tf.Sin,
  Cos: tf.Cos,
  Relu: tf.Relu,
  Maximum: tf.Maximum,
  Minimum: tf.Minimum,
  BatchMatMulV2: tf.BatchMatMul,
  Conv2D: tf.Conv2D,
  DepthwiseConv2dNative: tf.DepthwiseConv2dNative,
  Pad: tf.PadV2,
  Reshape: tf.Reshape,
  Transpose: tf.Transpose,
  Mean: tf.Mean,
  Sum: tf.Sum,
  ConcatV2: tf.Concat,
  Split: tf.SplitV,
  Slice: tf.Slice,
  Softmax: tf.Softmax,
  MaxPool: tf.MaxPool,
  Tile: tf.Tile,
  GatherV2: tf.GatherV2,
  Cast: tf.Cast,
  ResizeNearestNeighbor: tf.ResizeNearestNeighbor,
  Identity: tf.Identity,
  // sag's own fused ops (lib/kernels): their gradients are registered when lib/kernels is loaded.
  [SAG_GROUP_NORM]: SAG_GROUP_NORM,
  [SAG_ATTENTION]: SAG_ATTENTION,
};

/** Ops that produce or consume no differentiable value. */
const STRUCTURAL_OPS = new Set(['Placeholder', 'Const', 'Shape']);

export interface GraphCheckResult {
  histogram: Record<string, number>;
}

/**
 * Verifies a built graph: every op is a primitive whose tfjs kernel has a registered gradient, or sag's own
 * SagGroupNorm and SagAttention; no fused op of TensorFlow's.
 * Throws naming the first offending node.
 */
export function checkGraph(nodes: GraphNode[], modelName: string): GraphCheckResult {
  const histogram: Record<string, number> = {};
  for (const node of nodes) {
    histogram[node.op] = (histogram[node.op] ?? 0) + 1;
    if (node.op.startsWith('_Fused') || node.op.startsWith('Fused')) {
      throw new Error(
        `${modelName}: node '${node.name}' is a fused op (${node.op}); only primitive ops are allowed`,
      );
    }
    if (STRUCTURAL_OPS.has(node.op)) continue;
    const kernel = KERNEL_OF_OP[node.op];
    if (!kernel)
      throw new Error(
        `${modelName}: node '${node.name}' uses op ${node.op}, which the converter does not allow`,
      );
    if (!tf.getGradient(kernel)) {
      throw new Error(
        `${modelName}: node '${node.name}' uses op ${node.op}, whose kernel ${kernel} has no gradient`,
      );
    }
  }
  return { histogram };
}

export function formatHistogram(histogram: Record<string, number>): string {
  return Object.entries(histogram)
    .sort((a, b) => b[1] - a[1])
    .map(([op, count]) => `  ${op.padEnd(24)} ${count}`)
    .join('\n');
}
