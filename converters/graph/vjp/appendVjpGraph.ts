import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { VjpGraphInfo } from '../../../lib/models/convertedGraph';
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
  output: string;
  /** Two or more input sets differing in every dimension that may vary at run time (batch, image size). */
  probes: () => Record<string, tf.Tensor>[];
}

/**
 * Adds to a converted graph model (in place) the nodes computing `J^T cotangent` of `output` w.r.t. input `wrt`,
 * by reverse-mode differentiation of the forward nodes at conversion time: gradients for the inputs only (never for
 * weights), conv kernels flipped once and stored, each gradient released by tfjs's executor after its last use.
 * Forward and VJP share the weights: running only `output` is the forward pass as before. Throws naming the first
 * op on the differentiated path that has no backward rule; the model directory is then unchanged.
 */
export async function appendVjpGraph(dir: string, options: AppendVjpOptions): Promise<VjpGraphInfo> {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = json.modelTopology.node as GraphNode[];
  if (json.userDefinedMetadata?.sagVjp) throw new Error(`${dir}: the model already has a VJP graph`);
  const model = await loadGraphModelDir(dir);
  const probes = options.probes();
  const writer = new WeightShardWriter(dir, 4 * 2 ** 20, 'vjp');
  try {
    const shapes = await probeShapes(model, nodes, probes);
    const floatStorage = storedFloatDtype(json);
    const g = GraphBuilder.extending(nodes, writer, floatStorage, 'vjp-const');
    const info: VjpGraphInfo = {
      wrt: options.wrt,
      output: options.output,
      cotangent: `${options.output}_cotangent`,
      grad: `grad_${options.wrt}`,
    };
    const outputNode = nodes.find((n) => n.name === options.output);
    if (!outputNode) throw new Error(`${dir}: no output '${options.output}'`);
    const cotangent = g.input(info.cotangent, 'float32', shapes.get(options.output) as ProbedShape);
    const emitter = new VjpEmitter(g, nodes, shapes, model, dir);
    const grad = await emitter.emit(options.wrt, options.output, cotangent);
    g.output(info.grad, grad);
    const vjpWeights = writer.finish();
    json.modelTopology.node = g.nodes;
    json.weightsManifest = [...json.weightsManifest, ...vjpWeights.filter((group) => group.paths.length)];
    json.signature.inputs[info.cotangent] = signatureEntry(
      info.cotangent,
      shapes.get(options.output) as ProbedShape,
    );
    json.signature.outputs[info.grad] = { name: `${info.grad}:0`, dtype: 'DT_FLOAT' };
    json.userDefinedMetadata = { ...(json.userDefinedMetadata ?? {}), sagVjp: info };
    fs.writeFileSync(file, JSON.stringify(json));
    return info;
  } catch (error) {
    for (const shard of writer.paths) fs.rmSync(path.join(dir, shard), { force: true });
    throw error;
  } finally {
    tf.dispose(probes.flatMap((p) => Object.values(p)));
    model.dispose();
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

  /** Emits J^T cotangent for `output` w.r.t. `wrt`; returns the gradient's ref. */
  async emit(wrt: string, output: string, cotangent: Ref): Promise<Ref> {
    await this.readIntConstants();
    const onPath = this.differentiablePath(wrt, output);
    const grads = new Map<string, Ref[]>([[output, [cotangent]]]);
    for (let i = this.forward.length - 1; i >= 0; i--) {
      const node = this.forward[i];
      if (!onPath.has(node.name) || node.op === 'Placeholder') continue;
      const outputs = nodeOutputs(node);
      const dys = outputs.map((name) => this.summed(grads.get(name)));
      if (dys.every((d) => d === null)) continue;
      const rule = BACKWARD_RULES[node.op];
      if (!rule) return this.fail(node, `op ${node.op} has no VJP rule`);
      const inputGrads = this.g.scope(`vjp/${node.name}`, () => rule.backward(node, dys, this));
      for (const [index, grad] of inputGrads) {
        const input = stripIndex(node.input[index]);
        if (!onPath.has(input)) continue;
        const list = grads.get(node.input[index]) ?? [];
        list.push(grad);
        grads.set(node.input[index], list);
      }
    }
    const result = this.summed(grads.get(wrt));
    if (!result) throw new Error(`${this.dir}: output '${output}' does not depend on input '${wrt}'`);
    return result;
  }

  /** Nodes reachable from `wrt` through differentiable inputs that also reach `output`. */
  private differentiablePath(wrt: string, output: string): Set<string> {
    const fromInput = new Set<string>([wrt]);
    for (const node of this.forward) {
      const rule = BACKWARD_RULES[node.op];
      const positions = rule ? rule.differentiableInputs(node) : node.input.map((_, i) => i);
      if (node.op === 'Shape' || node.op === 'Size') continue;
      if (positions.some((i) => fromInput.has(stripIndex(node.input[i] ?? '')))) fromInput.add(node.name);
    }
    const toOutput = new Set<string>([output]);
    for (let i = this.forward.length - 1; i >= 0; i--) {
      const node = this.forward[i];
      if (!toOutput.has(node.name)) continue;
      for (const input of node.input) toOutput.add(stripIndex(input));
    }
    return new Set([...fromInput].filter((n) => toOutput.has(n)));
  }

  private summed(list: Ref[] | undefined): Ref | null {
    if (!list || list.length === 0) return null;
    if (list.length === 1) return list[0];
    return this.g.op('AddN', list, { N: attr.int(list.length) });
  }

  private async readIntConstants(): Promise<void> {
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
    const ref = this.g.constant(`vjp/${filterRef}/flipped`, flipped, [kh, kw, outC, inC]);
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
