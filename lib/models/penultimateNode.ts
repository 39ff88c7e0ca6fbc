/** A node of a tfjs graph model's topology (model.json `modelTopology.node`). */
export interface TopologyNode {
  name: string;
  op: string;
  input?: string[];
}

const PASS_THROUGH = new Set(['Identity', 'AddV2', 'Add', 'BiasAdd']);
const MATMUL = new Set(['MatMul', 'BatchMatMulV2', 'BatchMatMul']);

/**
 * The node that feeds a classifier's last linear layer: walking up from `output` through Identity and bias
 * additions to the matmul, its data input. These activations are the classifier's features for evaluation
 * (Fréchet distance), as Inception's last pooling layer is for FID. Throws when `output` does not end in a linear layer.
 */
export function penultimateNodeName(nodes: TopologyNode[], output: string): string {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const inputName = (reference: string) => reference.replace(/^\^/, '').split(':')[0];
  let node = byName.get(output);
  for (let hops = 0; node && hops < 16; hops++) {
    if (MATMUL.has(node.op)) {
      const data = node.input?.[0];
      if (data) return inputName(data);
      break;
    }
    if (!PASS_THROUGH.has(node.op) || !node.input?.length) break;
    // Bias additions: follow the operand that is not a constant.
    const next = node.input.map(inputName).find((name) => byName.get(name)?.op !== 'Const');
    node = next === undefined ? undefined : byName.get(next);
  }
  throw new Error(`graph output '${output}' does not end in a linear layer (no features before it)`);
}
