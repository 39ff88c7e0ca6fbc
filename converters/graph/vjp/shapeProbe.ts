import * as tf from '@tensorflow/tfjs';
import { GraphNode } from '../graphBuilder';

/** A tensor's shape as probed: a number where every probe agreed, null where the probes differed (dynamic). */
export type ProbedShape = (number | null)[];

/** Probed shapes by tensor name, each with the concrete shape of every probe run (`runs`). */
export type ProbedShapes = Map<string, ProbedShape & { runs: number[][] }>;

/** The output names of a node: `name`, and `name:k` for the other outputs of multi-output ops. */
export function nodeOutputs(node: GraphNode): string[] {
  if (node.op === 'Split') {
    const count = Number((node.attr.num_split as { i: string }).i);
    return Array.from({ length: count }, (_, k) => (k === 0 ? node.name : `${node.name}:${k}`));
  }
  return [node.name];
}

/**
 * The shape of every float node output, found by running the graph on two sets of inputs that differ in every
 * dimension that may vary (batch, and image size where the model allows): dims that agree are static, the others
 * dynamic. The probes' values do not matter (random normal inputs).
 */
export async function probeShapes(
  model: tf.GraphModel,
  nodes: GraphNode[],
  probes: Record<string, tf.Tensor>[],
): Promise<ProbedShapes> {
  // Only what the probes' inputs determine: a graph may have optional inputs (a UNet's ControlNet residuals) that
  // feed other outputs.
  const known = new Set(Object.keys(probes[0]));
  for (const node of nodes) {
    const computable =
      node.op === 'Const' ||
      (node.op !== 'Placeholder' &&
        node.input.every((input) => known.has(input.replace(/^\^/, '').split(':')[0])));
    if (computable) nodeOutputs(node).forEach((name) => known.add(name.split(':')[0]));
  }
  const names = nodes
    .filter((n) => n.op !== 'Const' && n.op !== 'Placeholder' && known.has(n.name))
    .flatMap((n) => nodeOutputs(n));
  const runs: Map<string, number[]>[] = [];
  for (const inputs of probes) {
    const outputs = model.execute(inputs, names) as tf.Tensor[];
    runs.push(new Map(names.map((name, i) => [name, outputs[i].shape])));
    tf.dispose(outputs);
  }
  for (const name of Object.keys(probes[0])) runs.forEach((r, k) => r.set(name, probes[k][name].shape));
  const shapes: ProbedShapes = new Map();
  for (const name of runs[0].keys()) {
    const all = runs.map((r) => r.get(name) as number[]);
    if (all.some((s) => s.length !== all[0].length))
      throw new Error(`'${name}': its rank depends on the input shape; a VJP graph cannot be written for it`);
    const merged: ProbedShape = all[0].map((d, i) => (all.every((s) => s[i] === d) ? d : null));
    shapes.set(name, Object.assign(merged, { runs: all }));
  }
  return shapes;
}
