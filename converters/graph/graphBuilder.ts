import { AttrValue, GraphDtype, attr } from './tfAttr';
import { StoredDtype, WeightShardWriter } from './weightShardWriter';

/** A tensor in the graph being built: a node output ("name" or "name:k"). */
export interface Ref {
  readonly ref: string;
}

export interface GraphNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, AttrValue>;
}

export interface SignatureEntry {
  name: string;
  dtype: GraphDtype;
  shape: (number | null)[];
}

/**
 * Builds a TensorFlow.js graph model node by node. Constants are streamed into weight shards as they are added
 * (a checkpoint is never held whole). Emits primitive ops only; see graphCheck for the ops allowed.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly inputs: SignatureEntry[] = [];
  readonly outputs: { name: string; ref: string }[] = [];
  private readonly usedNames = new Set<string>();
  private readonly intConstants = new Map<string, Ref>();
  private readonly floatScalars = new Map<number, Ref>();
  private scopes: string[] = [];

  constructor(
    readonly weights: WeightShardWriter,
    readonly floatStorage: 'float32' | 'float16' = 'float32',
    /** Prefix of the shared constants' names (`const/...`), so that a builder extending a graph does not clash. */
    private readonly sharedPrefix = 'const',
  ) {}

  /** Continues an existing graph: its nodes come first and their names are taken. */
  static extending(
    nodes: GraphNode[],
    weights: WeightShardWriter,
    floatStorage: 'float32' | 'float16',
    sharedPrefix: string,
  ): GraphBuilder {
    const g = new GraphBuilder(weights, floatStorage, sharedPrefix);
    for (const node of nodes) {
      g.nodes.push(node);
      g.usedNames.add(node.name);
    }
    return g;
  }

  /** Runs fn with node names prefixed by `scope/`. */
  scope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private uniqueName(base: string): string {
    // ':' and '^' are tfjs's output-index and control-input markers.
    const full = [...this.scopes, base].join('/').replace(/[:^]/g, '_');
    let name = full;
    for (let i = 1; this.usedNames.has(name); i++) name = `${full}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  input(name: string, dtype: GraphDtype, shape: (number | null)[]): Ref {
    if (this.usedNames.has(name)) throw new Error(`duplicate input '${name}'`);
    this.usedNames.add(name);
    this.nodes.push({
      name,
      op: 'Placeholder',
      input: [],
      attr: { dtype: attr.dtype(dtype), shape: attr.shape(shape) },
    });
    this.inputs.push({ name, dtype, shape });
    return { ref: name };
  }

  /**
   * A weight constant; float weights are stored as `floatStorage` unless `exact` (masks and values outside the
   * float16 range stay float32).
   */
  constant(
    base: string,
    data: Float32Array | Int32Array,
    shape: number[],
    dtype: GraphDtype = 'float32',
    exact = false,
  ): Ref {
    const name = this.uniqueName(base);
    const stored: StoredDtype = dtype === 'int32' ? 'int32' : exact ? 'float32' : this.floatStorage;
    this.weights.add(name, data, shape, stored);
    this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: attr.dtype(dtype) } });
    return { ref: name };
  }

  /** A shared int32 constant (shapes, axes, permutations; `shape` defaults to a vector). */
  ints(values: number[], shape: number[] = [values.length]): Ref {
    const key = `${values.join(',')}|${shape.join('x')}`;
    let r = this.intConstants.get(key);
    if (!r) {
      const name = `${this.sharedPrefix}/int32_${this.intConstants.size}`;
      this.usedNames.add(name);
      this.weights.add(name, Int32Array.from(values), shape, 'int32');
      this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: attr.dtype('int32') } });
      r = { ref: name };
      this.intConstants.set(key, r);
    }
    return r;
  }

  /** A shared int32 scalar constant (an axis). */
  intScalar(value: number): Ref {
    const key = `s${value}`;
    let r = this.intConstants.get(key);
    if (!r) {
      const name = `${this.sharedPrefix}/int32_scalar_${this.intConstants.size}`;
      this.usedNames.add(name);
      this.weights.add(name, Int32Array.from([value]), [], 'int32');
      this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: attr.dtype('int32') } });
      r = { ref: name };
      this.intConstants.set(key, r);
    }
    return r;
  }

  /** A shared float32 scalar constant (always stored in float32: scalars are exact coefficients). */
  scalar(value: number): Ref {
    let r = this.floatScalars.get(value);
    if (!r) {
      const name = `${this.sharedPrefix}/float_${this.floatScalars.size}`;
      this.usedNames.add(name);
      this.weights.add(name, Float32Array.from([value]), [], 'float32');
      this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: attr.dtype('float32') } });
      r = { ref: name };
      this.floatScalars.set(value, r);
    }
    return r;
  }

  op(op: string, inputs: Ref[], attrs: Record<string, AttrValue> = {}, base?: string): Ref {
    const name = this.uniqueName(base ?? op);
    this.nodes.push({ name, op, input: inputs.map((i) => i.ref), attr: attrs });
    return { ref: name };
  }

  /** Output k of a multi-output node. */
  static outputOf(node: Ref, k: number): Ref {
    return { ref: k === 0 ? node.ref : `${node.ref}:${k}` };
  }

  output(name: string, value: Ref, dtype: GraphDtype = 'float32'): void {
    if (this.usedNames.has(name)) throw new Error(`output name '${name}' is already a node name`);
    this.usedNames.add(name);
    this.nodes.push({ name, op: 'Identity', input: [value.ref], attr: { T: attr.dtype(dtype) } });
    this.outputs.push({ name, ref: name });
  }

  /** The model.json object (call after all nodes are added). */
  modelJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const manifest = this.weights.finish();
    const tensorInfo = (e: SignatureEntry) => ({
      name: `${e.name}:0`,
      dtype: e.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT',
      tensorShape: { dim: e.shape.map((d) => ({ size: String(d ?? -1) })) },
    });
    return {
      format: 'graph-model',
      generatedBy: 'sag',
      convertedBy: 'sag convert',
      modelTopology: { node: this.nodes, library: {}, versions: { producer: 1 } },
      weightsManifest: manifest,
      signature: {
        inputs: Object.fromEntries(this.inputs.map((e) => [e.name, tensorInfo(e)])),
        outputs: Object.fromEntries(
          this.outputs.map((o) => [o.name, { name: `${o.name}:0`, dtype: 'DT_FLOAT' }]),
        ),
      },
      ...extra,
    };
  }
}
