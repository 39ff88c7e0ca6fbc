import * as fs from 'fs';
import * as path from 'path';
import { FRAME_MIX_INPUT } from '../../lib/models/frameMix';
import { mixFrames } from './frameMix';
import { GraphBuilder, GraphNode } from './graphBuilder';
import { GraphOps } from './graphOps';
import { WeightShardWriter } from './weightShardWriter';

/** The self-attention key and value projections: BatchMatMulV2 of tokens by a `*.to_k` / `*.to_v` weight. */
function keyValueProjections(nodes: GraphNode[], selfAttention: RegExp): GraphNode[] {
  return nodes.filter(
    (n) =>
      n.op === 'BatchMatMulV2' &&
      /\.to_[kv]\.weight$/.test(n.input[1] ?? '') &&
      selfAttention.test(n.name) &&
      !n.name.startsWith('vjp/'),
  );
}

/** The nodes with every node after its inputs (the new nodes were appended after nodes now reading them). */
function topologicalOrder(nodes: GraphNode[]): GraphNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const placed = new Set<string>();
  const ordered: GraphNode[] = [];
  const place = (node: GraphNode) => {
    if (placed.has(node.name)) return;
    placed.add(node.name);
    for (const input of node.input) {
      const source = byName.get(input.replace(/^\^/, '').split(':')[0]);
      if (source) place(source);
    }
    ordered.push(node);
  };
  nodes.forEach(place);
  return ordered;
}

/**
 * Gives a converted graph written before cross-frame attention existed the frame mix input (lib/models/frameMix.ts),
 * in place: the keys and values of every self-attention matched by `selfAttention` (by node name) are computed from
 * the mixed tokens, exactly as the converter now writes them. The graph must have no VJP graph (remove it first and
 * append it again after, with the frame mix in its probes). Returns the number of attentions changed.
 */
export function addFrameMixInput(dir: string, selfAttention: RegExp): number {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = json.modelTopology.node as GraphNode[];
  if (nodes.some((n) => n.name === FRAME_MIX_INPUT))
    throw new Error(`${dir}: already has a ${FRAME_MIX_INPUT} input`);
  if (json.userDefinedMetadata?.sagVjp) throw new Error(`${dir}: remove the VJP graph first`);
  const projections = keyValueProjections(nodes, selfAttention);
  if (projections.length === 0) throw new Error(`${dir}: no self-attention matches ${selfAttention}`);
  const writer = new WeightShardWriter(dir, 4 * 2 ** 20, 'frame-mix');
  const g = GraphBuilder.extending(nodes, writer, 'float32', 'frame-mix-const');
  const ops = new GraphOps(g);
  const frameMix = g.input(FRAME_MIX_INPUT, 'float32', [null, null]);
  const mixed = new Map<string, string>();
  for (const projection of projections) {
    const tokens = projection.input[0];
    if (!mixed.has(tokens)) {
      const scope = `${tokens.slice(0, tokens.lastIndexOf('/'))}/frame_mix`;
      mixed.set(tokens, g.scope(scope, () => mixFrames(ops, { ref: tokens }, frameMix)).ref);
    }
    projection.input[0] = mixed.get(tokens) as string;
  }
  json.modelTopology.node = topologicalOrder(g.nodes);
  json.weightsManifest = [...json.weightsManifest, ...writer.finish().filter((group) => group.paths.length)];
  json.signature.inputs[FRAME_MIX_INPUT] = {
    name: `${FRAME_MIX_INPUT}:0`,
    dtype: 'DT_FLOAT',
    tensorShape: { dim: [{ size: '-1' }, { size: '-1' }] },
  };
  fs.writeFileSync(file, JSON.stringify(json));
  return mixed.size;
}
