import * as fs from 'fs';
import * as path from 'path';
import { readValues } from '../../lib/backend/readTensor';
import { loadGraphModelDir } from '../../lib/models/loadGraphModelDir';
import { GraphNode } from './graphBuilder';

/** The node an input reference names (`name`, `name:1`, `^name` -> `name`). */
export const sourceOf = (input: string) => input.replace(/^\^/, '').split(':')[0];

/** A graph's nodes by name and by the nodes that read them, for pattern matching. */
export class GraphIndex {
  readonly byName: Map<string, GraphNode>;
  private readonly consumers = new Map<string, GraphNode[]>();

  constructor(nodes: GraphNode[]) {
    this.byName = new Map(nodes.map((n) => [n.name, n]));
    for (const n of nodes)
      for (const input of n.input) {
        const users = this.consumers.get(sourceOf(input));
        if (users) users.push(n);
        else this.consumers.set(sourceOf(input), [n]);
      }
  }

  /** The node an input reference names (undefined for undefined). */
  node(input: string | undefined): GraphNode | undefined {
    return input === undefined ? undefined : this.byName.get(sourceOf(input));
  }

  usersOf(name: string): GraphNode[] {
    return this.consumers.get(name) ?? [];
  }

  /** The only node reading `name`, if there is exactly one and it is an `op`. */
  onlyUser(name: string, op: string): GraphNode | undefined {
    const users = this.usersOf(name);
    return users.length === 1 && users[0].op === op ? users[0] : undefined;
  }
}

/** Nodes nothing reads any more (besides Const, Placeholder and the graph's outputs), removed until none is left. */
export function withoutDeadNodes(nodes: GraphNode[], outputs: Set<string>): GraphNode[] {
  let kept = nodes;
  for (;;) {
    const read = new Set(kept.flatMap((n) => n.input.map(sourceOf)));
    const next = kept.filter(
      (n) => n.op === 'Const' || n.op === 'Placeholder' || outputs.has(n.name) || read.has(n.name),
    );
    if (next.length === kept.length) return next;
    kept = next;
  }
}

/** The node names a model.json's signature outputs read. */
export function signatureOutputs(json: {
  signature: { outputs: Record<string, { name: string }> };
}): Set<string> {
  return new Set(Object.values(json.signature.outputs).map((o) => sourceOf(o.name)));
}

/**
 * Rewrites a converted graph in place: each node of op `anchor` that `match` recognises (the end of a primitive
 * pattern) is handed to `rewrite`, which turns the pattern's output node into a fused one (reading the pattern's
 * int or float constants through `constant`); the nodes nothing reads any more are removed. The graph must have no
 * VJP graph (remove it first, append it again after). Returns how many were rewritten.
 */
export async function rewritePatterns<Match>(
  dir: string,
  anchor: string,
  match: (node: GraphNode, graph: GraphIndex) => Match | null,
  rewrite: (match: Match, constant: (name: string) => Promise<number[]>) => Promise<void>,
): Promise<number> {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (json.userDefinedMetadata?.sagVjp) throw new Error(`${dir}: remove the VJP graph first`);
  const nodes = json.modelTopology.node as GraphNode[];
  const graph = new GraphIndex(nodes);
  const matches = nodes
    .filter((n) => n.op === anchor)
    .map((n) => match(n, graph))
    .filter((m): m is Match => m !== null);
  if (matches.length === 0) return 0;
  const model = await loadGraphModelDir(dir);
  try {
    const constant = async (name: string) => Array.from(await readValues(model.weights[name][0]));
    for (const m of matches) await rewrite(m, constant);
  } finally {
    model.dispose();
  }
  json.modelTopology.node = withoutDeadNodes(nodes, signatureOutputs(json));
  fs.writeFileSync(file, JSON.stringify(json));
  return matches.length;
}
