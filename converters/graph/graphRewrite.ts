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
