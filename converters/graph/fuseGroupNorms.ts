import { SAG_GROUP_NORM } from '../../lib/kernels';
import { GraphNode } from './graphBuilder';
import { GraphIndex, rewritePatterns, sourceOf as source } from './graphRewrite';
import { attr } from './tfAttr';

/**
 * The primitive GroupNorm the converter wrote before SagGroupNorm existed (NnLayers.groupNorm): Reshape to groups,
 * Mean, Sub, Square, Mean, AddV2 eps, Rsqrt, Mul, Reshape back, Mul gamma, AddV2 beta, optionally Sigmoid + Mul
 * (SiLU). Found from its Rsqrt; null where the nodes around it are not that pattern.
 */
interface PrimitiveGroupNorm {
  x: string;
  gamma: string;
  beta: string;
  epsilonConst: string;
  groupedShapeConst: string;
  silu: boolean;
  /** The node whose output is the GroupNorm's (+SiLU's): it becomes the SagGroupNorm node. */
  output: GraphNode;
}

function matchGroupNorm(rsqrt: GraphNode, graph: GraphIndex) {
  const node = (name: string | undefined) => graph.node(name);
  const only = (name: string, op: string) => graph.onlyUser(name, op);
  const addEps = node(rsqrt.input[0]);
  const variance = node(addEps?.input[0]);
  const square = node(variance?.input[0]);
  const centered = node(square?.input[0]);
  const grouped = node(centered?.input[0]);
  const groupedShape = node(grouped?.input[1]);
  const normalized = only(rsqrt.name, 'Mul');
  const back = normalized && only(normalized.name, 'Reshape');
  const scaled = back && only(back.name, 'Mul');
  const shifted = scaled && only(scaled.name, 'AddV2');
  if (
    !addEps ||
    addEps.op !== 'AddV2' ||
    variance?.op !== 'Mean' ||
    square?.op !== 'Square' ||
    centered?.op !== 'Sub' ||
    grouped?.op !== 'Reshape' ||
    groupedShape?.op !== 'ConcatV2' ||
    !normalized ||
    source(normalized.input[0]) !== centered.name ||
    !back ||
    !scaled ||
    !shifted
  )
    return null;
  const gamma = node(scaled.input[1]);
  const beta = node(shifted.input[1]);
  const epsilon = node(addEps.input[1]);
  const shapeConst = node(groupedShape.input[1]);
  if (gamma?.op !== 'Const' || beta?.op !== 'Const' || epsilon?.op !== 'Const' || shapeConst?.op !== 'Const')
    return null;
  const users = graph.usersOf(shifted.name);
  const sigmoid = users.find((u) => u.op === 'Sigmoid');
  const siluMul =
    sigmoid && users.length === 2 && graph.usersOf(sigmoid.name).length === 1
      ? users.find((u) => u.op === 'Mul' && u.input.map(source).includes(sigmoid.name))
      : undefined;
  const silu = siluMul !== undefined;
  return {
    x: grouped.input[0],
    gamma: gamma.name,
    beta: beta.name,
    epsilonConst: epsilon.name,
    groupedShapeConst: shapeConst.name,
    silu,
    output: silu ? (siluMul as GraphNode) : shifted,
  } satisfies PrimitiveGroupNorm;
}

/**
 * Rewrites, in place, the primitive GroupNorms (+SiLU) of a converted graph as SagGroupNorm nodes, as the converter
 * now writes them (so a shipped model gains the fused kernels without its checkpoint). The graph must have no VJP
 * graph. Returns how many were fused.
 */
export function fuseGroupNorms(dir: string): Promise<number> {
  return rewritePatterns(dir, 'Rsqrt', matchGroupNorm, async (m, constant) => {
    const groups = (await constant(m.groupedShapeConst)).at(-2) as number;
    const epsilon = (await constant(m.epsilonConst))[0];
    Object.assign(m.output, {
      op: SAG_GROUP_NORM,
      input: [m.x, m.gamma, m.beta],
      attr: {
        groups: attr.int(groups),
        epsilon: attr.float(epsilon),
        activation: attr.string(m.silu ? 'silu' : 'none'),
      },
    });
  });
}
