import { SAG_ATTENTION } from '../../lib/kernels';
import { GraphNode } from './graphBuilder';
import { GraphIndex, rewritePatterns } from './graphRewrite';
import { attr } from './tfAttr';

/**
 * The primitive attention the converter wrote before SagAttention existed (NnLayers.multiHeadAttention without a
 * mask): per input tokens, Reshape to heads and Transpose; BatchMatMul q k^T, Mul by the scale, Softmax, BatchMatMul
 * by v, Transpose and Reshape back. Found from its Softmax; null where the nodes around it are not that pattern.
 */
interface PrimitiveAttention {
  tokens: [string, string, string];
  /** The Const [heads, headDim] at the end of the query's head shape. */
  headShapeConst: string;
  scaleConst: string;
  /** The node whose output is the attention's: it becomes the SagAttention node. */
  output: GraphNode;
}

const flag = (node: GraphNode, key: string) => Boolean((node.attr[key] as { b?: boolean } | undefined)?.b);

function matchAttention(softmax: GraphNode, graph: GraphIndex): PrimitiveAttention | null {
  const scaled = graph.node(softmax.input[0]);
  const scores = graph.node(scaled?.input[0]);
  const scale = graph.node(scaled?.input[1]);
  const mixed = graph.onlyUser(softmax.name, 'BatchMatMulV2');
  const merged = mixed && graph.onlyUser(mixed.name, 'Transpose');
  const output = merged && graph.onlyUser(merged.name, 'Reshape');
  if (
    scaled?.op !== 'Mul' ||
    scores?.op !== 'BatchMatMulV2' ||
    flag(scores, 'adj_x') ||
    !flag(scores, 'adj_y') ||
    scale?.op !== 'Const' ||
    !mixed ||
    mixed.input[0] !== softmax.name ||
    flag(mixed, 'adj_x') ||
    flag(mixed, 'adj_y') ||
    !output
  )
    return null;
  // [B, T, C] -> Reshape [B, T, heads, headDim] -> Transpose [B, heads, T, headDim].
  const split = (input: string) => {
    const transpose = graph.node(input);
    const reshape = graph.node(transpose?.input[0]);
    const shape = graph.node(reshape?.input[1]);
    const headShape = graph.node(shape?.input.at(-2));
    if (transpose?.op !== 'Transpose' || reshape?.op !== 'Reshape' || shape?.op !== 'ConcatV2') return null;
    if (headShape?.op !== 'Const') return null;
    return { tokens: reshape.input[0], headShape: headShape.name };
  };
  const [q, k, v] = [scores.input[0], scores.input[1], mixed.input[1]].map(split);
  if (!q || !k || !v) return null;
  return {
    tokens: [q.tokens, k.tokens, v.tokens],
    headShapeConst: q.headShape,
    scaleConst: scale.name,
    output,
  };
}

/**
 * Rewrites, in place, the primitive attentions of a converted graph as SagAttention nodes, as the converter now
 * writes them (so a shipped model gains the fused kernels without its checkpoint). The graph must have no VJP
 * graph. Returns how many were fused.
 */
export function fuseAttention(dir: string): Promise<number> {
  return rewritePatterns(dir, 'Softmax', matchAttention, async (m, constant) => {
    const [heads] = await constant(m.headShapeConst);
    const [scale] = await constant(m.scaleConst);
    Object.assign(m.output, {
      op: SAG_ATTENTION,
      input: m.tokens,
      attr: { heads: attr.int(heads), scale: attr.float(scale) },
    });
  });
}
