import * as fs from 'fs';
import * as path from 'path';
import { SAG_GROUP_NORM } from '../../lib/kernels';
import { readValues } from '../../lib/backend/readTensor';
import { loadGraphModelDir } from '../../lib/models/loadGraphModelDir';
import { GraphNode } from './graphBuilder';
import { attr } from './tfAttr';

const source = (input: string) => input.replace(/^\^/, '').split(':')[0];

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

function matchGroupNorm(
  rsqrt: GraphNode,
  byName: Map<string, GraphNode>,
  consumers: Map<string, GraphNode[]>,
) {
  const node = (name: string | undefined) => (name === undefined ? undefined : byName.get(source(name)));
  const only = (name: string, op: string) => {
    const users = consumers.get(name) ?? [];
    return users.length === 1 && users[0].op === op ? users[0] : undefined;
  };
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
  const users = consumers.get(shifted.name) ?? [];
  const sigmoid = users.find((u) => u.op === 'Sigmoid');
  const siluMul =
    sigmoid && users.length === 2 && (consumers.get(sigmoid.name) ?? []).length === 1
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

/** Nodes nothing reads any more (besides Const, Placeholder and the graph's outputs), removed until none is left. */
function withoutDeadNodes(nodes: GraphNode[], outputs: Set<string>): GraphNode[] {
  let kept = nodes;
  for (;;) {
    const read = new Set(kept.flatMap((n) => n.input.map(source)));
    const next = kept.filter(
      (n) => n.op === 'Const' || n.op === 'Placeholder' || outputs.has(n.name) || read.has(n.name),
    );
    if (next.length === kept.length) return next;
    kept = next;
  }
}

/**
 * Rewrites, in place, the primitive GroupNorms (+SiLU) of a converted graph as SagGroupNorm nodes, as the converter
 * now writes them (so a shipped model gains the fused kernels without its checkpoint). The graph must have no VJP
 * graph (remove it first, append it again after). Returns how many were fused.
 */
export async function fuseGroupNorms(dir: string): Promise<number> {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (json.userDefinedMetadata?.sagVjp) throw new Error(`${dir}: remove the VJP graph first`);
  const nodes = json.modelTopology.node as GraphNode[];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const consumers = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    for (const input of n.input) {
      const users = consumers.get(source(input));
      if (users) users.push(n);
      else consumers.set(source(input), [n]);
    }
  }
  const matches = nodes
    .filter((n) => n.op === 'Rsqrt')
    .map((n) => matchGroupNorm(n, byName, consumers))
    .filter((m): m is PrimitiveGroupNorm => m !== null);
  if (matches.length === 0) return 0;
  const model = await loadGraphModelDir(dir);
  try {
    const constant = async (name: string) => Array.from(await readValues(model.weights[name][0]));
    for (const m of matches) {
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
    }
  } finally {
    model.dispose();
  }
  const outputs = new Set(
    Object.values(json.signature.outputs as Record<string, { name: string }>).map((o) => source(o.name)),
  );
  json.modelTopology.node = withoutDeadNodes(nodes, outputs);
  fs.writeFileSync(file, JSON.stringify(json));
  return matches.length;
}
