import { GraphBuilder, Ref } from '../graph/graphBuilder';
import { GraphOps } from '../graph/graphOps';
import { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from './onnxModel';
import { OnnxOpContext, OnnxValue } from './onnxOpContext';
import { ONNX_OP_EXECUTORS } from './ops';

export const SUPPORTED_ONNX_OPS: readonly string[] = Object.keys(ONNX_OP_EXECUTORS);

/**
 * Translates an ONNX image model (insightface iresnet / IR-SE ArcFace exports) into graph ops, one executor per op
 * family (./ops). Inputs NCHW in ONNX become NHWC graph inputs with the same names; outputs keep their ONNX names
 * (rank-4 outputs back in NCHW).
 */
export class OnnxToGraph implements OnnxOpContext {
  private readonly values = new Map<string, OnnxValue>();
  readonly o: GraphOps;

  constructor(
    readonly g: GraphBuilder,
    private readonly model: OnnxGraph,
    private readonly source: string,
  ) {
    this.o = new GraphOps(g);
  }

  /** Checks every node's op before anything is emitted. */
  static assertSupported(model: OnnxGraph, source: string): void {
    for (const node of model.nodes) {
      if (!(node.opType in ONNX_OP_EXECUTORS)) {
        throw new Error(
          `${source}: unsupported ONNX op ${node.opType} in node '${node.name}' (supported: ${SUPPORTED_ONNX_OPS.join(', ')})`,
        );
      }
    }
  }

  build(): void {
    OnnxToGraph.assertSupported(this.model, this.source);
    for (const input of this.model.inputs) {
      const shape = input.dims.map((d, i) => (i === 0 ? null : d));
      if (shape.length !== 4 || shape.slice(1).some((d) => d === null)) {
        throw new Error(
          `${this.source}: input '${input.name}' must be a fixed-size NCHW image, got [${input.dims}]`,
        );
      }
      const [, c, h, w] = shape as number[];
      this.values.set(input.name, { ref: this.g.input(input.name, 'float32', [null, h, w, c]), shape });
    }
    for (const node of this.model.nodes) ONNX_OP_EXECUTORS[node.opType](node, this);
    for (const output of this.model.outputs) {
      const v = this.values.get(output.name);
      if (!v) throw new Error(`${this.source}: graph output '${output.name}' is not produced by any node`);
      this.g.output(output.name, v.shape.length === 4 ? this.toNchw(v) : v.ref);
    }
  }

  fail(node: OnnxNode, why: string): never {
    throw new Error(`${this.source}: node '${node.name}' (${node.opType}): ${why}`);
  }

  initializer(name: string): OnnxTensor | undefined {
    return this.model.initializers.get(name);
  }

  defineInitializer(name: string, tensor: OnnxTensor): void {
    this.model.initializers.set(name, tensor);
  }

  floatInit(node: OnnxNode, name: string): OnnxTensor & { data: Float32Array } {
    const t = this.initializer(name);
    if (!t || !t.isFloat) this.fail(node, `input '${name}' must be a float initializer`);
    return t as OnnxTensor & { data: Float32Array };
  }

  value(node: OnnxNode, name: string): OnnxValue {
    const v = this.values.get(name);
    if (v) return v;
    const t = this.initializer(name);
    if (t && t.isFloat) {
      const data = t.data as Float32Array;
      // Per-channel NCHW constants ([C,1,1] or [1,C,1,1]) broadcast over NHWC as [C].
      const dims = t.dims;
      const perChannel =
        (dims.length === 3 && dims[1] === 1 && dims[2] === 1) ||
        (dims.length === 4 && dims[0] === 1 && dims[2] === 1 && dims[3] === 1);
      return { ref: this.g.constant(name, data, perChannel ? [data.length] : dims), shape: dims };
    }
    this.fail(node, `input '${name}' is neither produced by a node nor a float initializer`);
  }

  set(node: OnnxNode, ref: Ref, shape: (number | null)[]): void {
    this.values.set(node.outputs[0], { ref, shape });
  }

  alias(node: OnnxNode, value: OnnxValue): void {
    this.values.set(node.outputs[0], value);
  }

  toNchw(v: OnnxValue): Ref {
    return this.o.transpose(v.ref, [0, 3, 1, 2]);
  }

  attribute(node: OnnxNode, key: string): OnnxAttribute | undefined {
    return node.attributes.get(key);
  }

  ints(node: OnnxNode, key: string, fallback: number[]): number[] {
    return node.attributes.get(key)?.ints ?? fallback;
  }
}
