import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BackendChoice, startBackend } from '../../../lib/backend';
import { VJP_GRAPH_KEYS, VjpGraphInfo, VjpGraphKey } from '../../../lib/models/convertedGraph';
import { loadGraphModelDir } from '../../../lib/models/loadGraphModelDir';
import { GraphBuilder, GraphNode, Ref } from '../graphBuilder';
import { GraphOps } from '../graphOps';
import { attr } from '../tfAttr';
import { WeightShardWriter } from '../weightShardWriter';
import { BackwardContext } from './backwardContext';
import { BACKWARD_RULES } from './backwardRules';
import { ProbedShape, ProbedShapes, nodeOutputs, probeShapes } from './shapeProbe';

export interface AppendVjpOptions {
  wrt: string;
  /** More inputs to differentiate in the same pass (their gradients are more outputs). */
  alsoWrt?: string[];
  /**
   * Where the graph is recorded in userDefinedMetadata: 'sagVjp' (the model's VJP, used by guidance) or another key
   * for a second VJP of other outputs (e.g. 'sagVjpControlled', a UNet's output with ControlNet residuals).
   */
  key?: VjpGraphKey;
  /** Outputs differentiated (their cotangents are inputs of the VJP graph). */
  outputs: string[];
  /** Two or more input sets differing in every dimension that may vary at run time (batch, image size). */
  probes: () => Record<string, tf.Tensor>[];
}

/**
 * Adds to a converted graph model (in place) the nodes computing `sum_k J_k^T cotangent_k` of `outputs` w.r.t. input `wrt`,
 * by reverse-mode differentiation of the forward nodes at conversion time: gradients for the inputs only (never for
 * weights), conv kernels flipped once and stored, each gradient released by tfjs's executor after its last use.
 * Forward and VJP share the weights: running only `output` is the forward pass as before. Throws naming the first
 * op on the differentiated path that has no backward rule; the model directory is then unchanged.
 */
export async function appendVjpGraph(dir: string, options: AppendVjpOptions): Promise<VjpGraphInfo> {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = json.modelTopology.node as GraphNode[];
  const key = options.key ?? 'sagVjp';
  if (json.userDefinedMetadata?.[key]) throw new Error(`${dir}: the model already has a VJP graph (${key})`);
  const restoreBackend = await backendForProbing(json);
  const model = await loadGraphModelDir(dir);
  const probes = options.probes();
  const writer = new WeightShardWriter(dir, 4 * 2 ** 20, 'vjp');
  try {
    const shapes = await probeShapes(model, nodes, probes);
    const floatStorage = storedFloatDtype(json);
    const g = GraphBuilder.extending(nodes, writer, floatStorage, 'vjp-const');
    const gradName = (input: string) =>
      key === 'sagVjp' ? `grad_${input}` : `grad_${input}_of_${options.outputs.join('_')}`;
    const info: VjpGraphInfo = {
      wrt: options.wrt,
      outputs: options.outputs,
      cotangents: options.outputs.map((o) => `${o}_cotangent`),
      grad: gradName(options.wrt),
      ...(options.alsoWrt ? { alsoWrt: options.alsoWrt, alsoGrads: options.alsoWrt.map(gradName) } : {}),
    };
    for (const output of options.outputs)
      if (!nodes.some((n) => n.name === output)) throw new Error(`${dir}: no output '${output}'`);
    const cotangents = info.cotangents.map((name, i) =>
      g.input(name, 'float32', shapes.get(options.outputs[i]) as ProbedShape),
    );
    const emitter = new VjpEmitter(g, nodes, shapes, model, dir);
    await emitter.readConstants();
    // Every node of the VJP graph is named vjp/..., so that removeVjpGraph finds them.
    const wrts = [options.wrt, ...(options.alsoWrt ?? [])];
    const grads = g.scope('vjp', () => emitter.emit(wrts, options.outputs, cotangents));
    const gradNames = [info.grad, ...(info.alsoGrads ?? [])];
    grads.forEach((grad, i) => g.output(gradNames[i], grad));
    const vjpWeights = writer.finish();
    json.modelTopology.node = g.nodes;
    json.weightsManifest = [...json.weightsManifest, ...vjpWeights.filter((group) => group.paths.length)];
    info.cotangents.forEach((name, i) => {
      json.signature.inputs[name] = signatureEntry(name, shapes.get(options.outputs[i]) as ProbedShape);
    });
    for (const name of gradNames) json.signature.outputs[name] = { name: `${name}:0`, dtype: 'DT_FLOAT' };
    json.userDefinedMetadata = { ...(json.userDefinedMetadata ?? {}), [key]: info };
    fs.writeFileSync(file, JSON.stringify(json));
    return info;
  } catch (error) {
    for (const shard of writer.paths) fs.rmSync(path.join(dir, shard), { force: true });
    throw error;
  } finally {
    tf.dispose(probes.flatMap((p) => Object.values(p)));
    model.dispose();
    await restoreBackend();
  }
}

/** wasm's memory ends at 4 GiB: models with more than this many bytes of weights are probed on the cpu backend. */
const WASM_PROBE_LIMIT_BYTES = 1.5 * 2 ** 30;

/**
 * The backend the probes run on: the caller's GPU backend if it runs on one (an SD UNet probed on cpu takes many
 * minutes), else wasm, unless the model is too large for wasm's memory (then cpu: slower, no limit). Returns what restores the
 * caller's backend.
 */
async function backendForProbing(json: {
  weightsManifest: { weights: { shape: number[]; quantization?: unknown }[] }[];
}): Promise<() => Promise<void>> {
  const current = tf.getBackend() as BackendChoice;
  const bytes = json.weightsManifest
    .flatMap((group) => group.weights)
    .reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  const wanted: BackendChoice =
    current === 'webgpu' || current === 'tensorflow'
      ? current
      : bytes > WASM_PROBE_LIMIT_BYTES
        ? 'cpu'
        : 'wasm';
  if (wanted === current) return async () => undefined;
  await startBackend(wanted, { announce: false });
  return async () => {
    await startBackend(current, { announce: false });
  };
}

/**
 * appendVjpGraph for a converter: a model it cannot be written for still converts, and the warning (through `log`)
 * says why; guidance then differentiates that model with tf.grad.
 */
export async function appendVjpGraphOrWarn(
  dir: string,
  label: string,
  options: AppendVjpOptions,
  log: (line: string) => void,
): Promise<void> {
  try {
    await appendVjpGraph(dir, options);
  } catch (error) {
    log(`warning: ${label}: no VJP graph written (${(error as Error).message}); guidance will use tf.grad`);
  }
}

function signatureEntry(name: string, shape: ProbedShape) {
  return {
    name: `${name}:0`,
    dtype: 'DT_FLOAT',
    tensorShape: { dim: shape.map((d) => ({ size: String(d ?? -1) })) },
  };
}

/** float16 when the forward's float weights are stored quantized (so the VJP's are too). */
function storedFloatDtype(json: { weightsManifest: { weights: { quantization?: { dtype: string } }[] }[] }) {
  const quantized = json.weightsManifest.some((group) =>
    group.weights.some((w) => w.quantization?.dtype === 'float16'),
  );
  return quantized ? 'float16' : 'float32';
}

/**
 * Ops whose backward rule multiplies dy by a full-size forward tensor of the same shape: given a broadcastable dy
 * (from a Mean, as in GroupNorm's variance), their input gradient comes out full-size without materializing dy.
 */
const FULL_FROM_BROADCASTABLE_DY = new Set(['Square', 'Sigmoid', 'Tanh', 'Exp', 'Sqrt', 'Rsqrt', 'Erf']);

/** Differentiable edges and the backward nodes of one forward graph. */
class VjpEmitter implements BackwardContext {
  readonly o: GraphOps;
  private readonly byName: Map<string, GraphNode>;
  private readonly shapeTensors = new Map<string, Ref>();
  private readonly flippedFilters = new Map<string, Ref>();
  private readonly intConstants = new Map<string, number[]>();

  constructor(
    readonly g: GraphBuilder,
    private readonly forward: GraphNode[],
    private readonly shapes: ProbedShapes,
    private readonly model: tf.GraphModel,
    private readonly dir: string,
  ) {
    this.o = new GraphOps(g);
    this.byName = new Map(forward.map((n) => [n.name, n]));
  }

  /** Emits sum_k J_k^T cotangent_k for `outputs` w.r.t. each input of `wrts`; returns the gradients' refs. */
  emit(wrts: string[], outputs: string[], cotangents: Ref[]): Ref[] {
    const onPath = new Set(wrts.flatMap((wrt) => [...this.differentiablePath(wrt, outputs)]));
    this.onPath = onPath;
    const grads = new Map<string, Ref[]>(outputs.map((output, i) => [output, [cotangents[i]]]));
    for (let i = this.forward.length - 1; i >= 0; i--) {
      const node = this.forward[i];
      if (!onPath.has(node.name) || node.op === 'Placeholder') continue;
      const outputs = nodeOutputs(node);
      const broadcastableDy = FULL_FROM_BROADCASTABLE_DY.has(node.op);
      const dys = outputs.map((name) => this.summed(grads.get(name), name, broadcastableDy));
      if (dys.every((d) => d === null)) continue;
      const rule = BACKWARD_RULES[node.op];
      if (!rule) return this.fail(node, `op ${node.op} has no VJP rule`);
      const inputGrads = this.g.scope(node.name, () => rule.backward(node, dys, this));
      for (const [index, grad] of inputGrads) {
        const input = stripIndex(node.input[index]);
        if (!onPath.has(input)) continue;
        const list = grads.get(node.input[index]) ?? [];
        list.push(grad);
        grads.set(node.input[index], list);
      }
    }
    return wrts.map((wrt) => {
      const result = this.summed(grads.get(wrt), wrt);
      if (!result)
        throw new Error(`${this.dir}: outputs ${outputs.join(', ')} do not depend on input '${wrt}'`);
      return result;
    });
  }

  /** Nodes reachable from `wrt` through differentiable inputs that also reach one of `outputs`. */
  private differentiablePath(wrt: string, outputs: string[]): Set<string> {
    const fromInput = new Set<string>([wrt]);
    for (const node of this.forward) {
      const rule = BACKWARD_RULES[node.op];
      const positions = rule ? rule.differentiableInputs(node) : node.input.map((_, i) => i);
      if (node.op === 'Shape' || node.op === 'Size') continue;
      if (positions.some((i) => fromInput.has(stripIndex(node.input[i] ?? '')))) fromInput.add(node.name);
    }
    const toOutput = new Set<string>(outputs);
    for (let i = this.forward.length - 1; i >= 0; i--) {
      const node = this.forward[i];
      if (!toOutput.has(node.name)) continue;
      for (const input of node.input) toOutput.add(stripIndex(input));
    }
    return new Set([...fromInput].filter((n) => toOutput.has(n)));
  }

  /**
   * The total gradient of tensor `name` from its contributions: full-size ones added (AddN), broadcastable ones
   * added to that by broadcasting; broadcastable ones alone are broadcast to the tensor's shape first.
   */
  private summed(list: Ref[] | undefined, name: string, broadcastableOk = false): Ref | null {
    if (!list || list.length === 0) return null;
    const full = list.filter((r) => !this.broadcastableGrads.has(r.ref));
    const partial = list.filter((r) => this.broadcastableGrads.has(r.ref));
    let total: Ref;
    if (full.length > 0)
      total = full.length === 1 ? full[0] : this.g.op('AddN', full, { N: attr.int(full.length) });
    else if (broadcastableOk) total = partial.shift() as Ref;
    else total = this.materialized(partial.shift() as Ref, name);
    for (const p of partial) total = this.o.add(total, p);
    return total;
  }

  /** A broadcastable gradient made full-size, like tensor `name` (rare: see FULL_FROM_BROADCASTABLE_DY). */
  private materialized(grad: Ref, name: string): Ref {
    return this.o.mul(grad, this.g.op('OnesLike', [{ ref: name }]));
  }

  private readonly broadcastableGrads = new Set<string>();
  private onPath = new Set<string>();

  needsGradient(node: GraphNode, index: number): boolean {
    return this.onPath.has(stripIndex(node.input[index] ?? ''));
  }

  broadcastable(grad: Ref): Ref {
    this.broadcastableGrads.add(grad.ref);
    return grad;
  }

  afterGradient(dy: Ref, value: Ref): Ref {
    return this.o.add(value, this.o.mul(dy, this.g.scalar(0)));
  }

  /** Reads the int32 constants and conv filters the rules need (before emit: the rules are synchronous). */
  async readConstants(): Promise<void> {
    for (const node of this.forward) {
      if (node.op !== 'Const' || (node.attr.dtype as { type?: string })?.type !== 'DT_INT32') continue;
      const t = this.model.weights[node.name]?.[0];
      if (t) this.intConstants.set(node.name, Array.from(await t.data()));
    }
    for (const node of this.forward) {
      if (node.op !== 'Conv2D') continue;
      const filter = node.input[1];
      const t = this.model.weights[filter]?.[0];
      if (t && !this.filterData.has(filter))
        this.filterData.set(filter, { data: (await t.data()) as Float32Array, shape: t.shape });
    }
  }

  /** Conv filters' values, read before emission (backward rules are synchronous). */
  private readonly filterData = new Map<string, { data: Float32Array; shape: number[] }>();

  shape(ref: string): ProbedShape {
    const name = ref.endsWith(':0') ? ref.slice(0, -2) : ref;
    const constant = this.model.weights[name]?.[0];
    const shape = this.shapes.get(name) ?? constant?.shape;
    if (!shape) throw new Error(`${this.dir}: no probed shape for '${ref}'`);
    return shape;
  }

  probeRuns(ref: string): number[][] {
    const probed = this.shapes.get(ref.endsWith(':0') ? ref.slice(0, -2) : ref);
    if (!probed) throw new Error(`${this.dir}: no probed shape for '${ref}'`);
    return probed.runs;
  }

  intValues(node: GraphNode, ref: string): number[] {
    const values = this.intConstants.get(stripIndex(ref));
    if (!values) return this.fail(node, `input '${ref}' must be an int32 constant for a VJP rule`);
    return values;
  }

  shapeTensor(ref: string): Ref {
    let shape = this.shapeTensors.get(ref);
    if (!shape) {
      shape = this.o.shapeOf({ ref });
      this.shapeTensors.set(ref, shape);
    }
    return shape;
  }

  inputGradFilter(node: GraphNode, filterRef: string): Ref {
    const cached = this.flippedFilters.get(filterRef);
    if (cached) return cached;
    const filter = this.filterData.get(filterRef);
    if (!filter) return this.fail(node, `the filter '${filterRef}' must be a constant for a VJP rule`);
    const [kh, kw, inC, outC] = filter.shape;
    const data = filter.data;
    const flipped = new Float32Array(data.length);
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++)
        for (let c = 0; c < inC; c++)
          for (let o = 0; o < outC; o++)
            flipped[((i * kw + j) * outC + o) * inC + c] =
              data[(((kh - 1 - i) * kw + (kw - 1 - j)) * inC + c) * outC + o];
    const ref = this.g.constant(`${filterRef}/flipped`, flipped, [kh, kw, outC, inC]);
    this.flippedFilters.set(filterRef, ref);
    return ref;
  }

  unbroadcast(grad: Ref, operand: string, output: string): Ref {
    const inShape = this.shape(operand);
    const outShape = this.shape(output);
    const lead = outShape.length - inShape.length;
    const axes: number[] = [];
    for (let i = 0; i < outShape.length; i++) {
      const d = i < lead ? null : inShape[i - lead];
      if (i < lead || (d === 1 && outShape[i] !== 1)) axes.push(i);
    }
    if (axes.length === 0) return grad;
    const summed = this.o.sum(grad, axes, true);
    return lead === 0 && inShape.every((d) => d !== null)
      ? this.o.reshape(summed, inShape as number[])
      : this.o.reshape(summed, this.shapeTensor(operand));
  }

  fail(node: GraphNode, why: string): never {
    throw new Error(`${this.dir}: node '${node.name}' (${node.op}): ${why}`);
  }
}

/** `name:k` -> `name`. */
function stripIndex(ref: string): string {
  const i = ref.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(ref.slice(i + 1)) ? ref.slice(0, i) : ref;
}

/**
 * Removes a model's VJP graph (its nodes, inputs, output, shards and metadata), leaving the forward graph as the
 * converter wrote it; a model without one is left as it is.
 */
export function removeVjpGraph(dir: string): void {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const infos = VJP_GRAPH_KEYS.map(
    (key) => json.userDefinedMetadata?.[key] as VjpGraphInfo | undefined,
  ).filter((info): info is VjpGraphInfo => info !== undefined);
  if (infos.length === 0) return;
  const cotangents = infos.flatMap((info) => info.cotangents);
  const grads = infos.flatMap((info) => [info.grad, ...(info.alsoGrads ?? [])]);
  const added = new Set([...cotangents, ...grads]);
  json.modelTopology.node = (json.modelTopology.node as GraphNode[]).filter(
    (n) => !added.has(n.name) && !n.name.startsWith('vjp/') && !n.name.startsWith('vjp-const/'),
  );
  const vjpGroups = (json.weightsManifest as { paths: string[] }[]).filter((g) =>
    g.paths.every((p) => p.startsWith('vjp-')),
  );
  json.weightsManifest = json.weightsManifest.filter((g: { paths: string[] }) => !vjpGroups.includes(g));
  for (const name of cotangents) delete json.signature.inputs[name];
  for (const name of grads) delete json.signature.outputs[name];
  for (const key of VJP_GRAPH_KEYS) delete json.userDefinedMetadata[key];
  if (Object.keys(json.userDefinedMetadata).length === 0) delete json.userDefinedMetadata;
  fs.writeFileSync(file, JSON.stringify(json));
  for (const group of vjpGroups) for (const p of group.paths) fs.rmSync(path.join(dir, p), { force: true });
}
