import * as tf from '@tensorflow/tfjs';
import { directoryModelFiles } from '../io/directoryModelFiles';
import { ModelFiles } from '../io/modelFiles';
import { FRAME_MIX_INPUT, frameMixMatrix } from './frameMix';
import { graphModelHandler } from './loadGraphModelDir';
import { TopologyNode } from './penultimateNode';
import { useVjpGraphs } from './vjpGraphSwitch';
import { RecordedGraphRuns } from '../recorded/recordedGraphRuns';

/** What a converted model.json records about its VJP graph (userDefinedMetadata.sagVjp). */
export interface VjpGraphInfo {
  /** The input differentiated. */
  wrt: string;
  /** The outputs whose cotangents are given (the VJP is of their weighted sum). */
  outputs: string[];
  /** The inputs holding the cotangents, one per output, shaped like it. */
  cotangents: string[];
  /** The output holding J^T cotangent (shaped like `wrt`). */
  grad: string;
  /** More inputs differentiated in the same graph, and the outputs holding their gradients. */
  alsoWrt?: string[];
  alsoGrads?: string[];
}

/** Where VJP graphs are recorded: the model's own (guidance), and a UNet's output with ControlNet residuals. */
export const VJP_GRAPH_KEYS = ['sagVjp', 'sagVjpControlled'] as const;
export type VjpGraphKey = (typeof VJP_GRAPH_KEYS)[number];

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A converted graph model with named inputs and outputs. Execute is synchronous (usable under tf.grad). */
export class ConvertedGraph {
  private readonly inputNames: Set<string>;
  /** On webgpu, runs are recorded once per input shape and replayed (see lib/recorded). */
  private readonly recordedRuns = new RecordedGraphRuns();

  private constructor(
    readonly dir: string,
    readonly model: tf.GraphModel,
    /** The graph's nodes as model.json lists them (read once, with the model). */
    readonly nodes: TopologyNode[],
  ) {
    this.inputNames = new Set(model.inputs.map((input) => input.name));
  }

  static async load(dir: string): Promise<ConvertedGraph> {
    return ConvertedGraph.fromFiles(directoryModelFiles(dir));
  }

  /** A converted graph from a directory or a URL (`dir` is then its location). */
  static async fromFiles(files: ModelFiles): Promise<ConvertedGraph> {
    if (!(await files.has('model.json')))
      throw new Error(`${files.location}: converted model missing (no model.json; run 'sag convert')`);
    const handler = graphModelHandler(files);
    let artifacts: tf.io.ModelArtifacts | undefined;
    const model = await tf.loadGraphModel({ load: async () => (artifacts = await handler.load()) });
    const topology = (artifacts as tf.io.ModelArtifacts).modelTopology as { node: TopologyNode[] };
    return new ConvertedGraph(files.location, model, topology.node);
  }

  /**
   * The VJP graph written by the converter (`J^T cotangent` of one output w.r.t. one input), or null for a model
   * converted without one (tf.grad through the forward graph is used then).
   */
  get vjpGraph(): VjpGraphInfo | null {
    return this.vjpGraphOf('sagVjp');
  }

  /** The VJP graph recorded under `key`, or null. */
  vjpGraphOf(key: VjpGraphKey): VjpGraphInfo | null {
    const info = (this.model.metadata as Partial<Record<VjpGraphKey, VjpGraphInfo>> | undefined)?.[key];
    return info ?? null;
  }

  /**
   * Gradients w.r.t. the graph's `wrt` and `alsoWrt` inputs (in that order) by the VJP graph under `key`, for one
   * cotangent per output. Caller owns the results.
   */
  vjpAll(key: VjpGraphKey, inputs: Record<string, tf.Tensor>, cotangents: tf.Tensor[]): tf.Tensor[] {
    const info = this.vjpGraphOf(key);
    if (!info)
      throw new Error(
        `${this.dir}: converted without this VJP graph (${key}; convert it again with this sag)`,
      );
    if (cotangents.length !== info.cotangents.length)
      throw new Error(
        `${this.dir}: the VJP graph takes ${info.cotangents.length} cotangents, got ${cotangents.length}`,
      );
    const feeds = Object.fromEntries(info.cotangents.map((name, i) => [name, cotangents[i]]));
    return this.execute({ ...inputs, ...feeds }, [info.grad, ...(info.alsoGrads ?? [])]);
  }

  /**
   * J^T cotangent w.r.t. the VJP graph's input at `inputs` (the forward's inputs), for one cotangent per VJP output
   * (a single tensor for a one-output graph): one run of the converter's VJP graph, which recomputes the forward
   * and releases each activation after its last use. Caller owns the result.
   */
  vjp(inputs: Record<string, tf.Tensor>, cotangents: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const info = this.vjpGraph;
    if (!info) throw new Error(`${this.dir}: converted without a VJP graph (convert it again with this sag)`);
    const list = Array.isArray(cotangents) ? cotangents : [cotangents];
    if (list.length !== info.cotangents.length)
      throw new Error(
        `${this.dir}: the VJP graph takes ${info.cotangents.length} cotangents, got ${list.length}`,
      );
    const feeds = Object.fromEntries(info.cotangents.map((name, i) => [name, list[i]]));
    return this.execute({ ...inputs, ...feeds }, [info.grad])[0];
  }

  /**
   * `outputs`, differentiable w.r.t. the VJP graph's input through that graph (tf.customGrad: the forward runs once
   * here and once more inside the VJP graph when a gradient is taken; the other inputs are constants). Without a
   * VJP graph covering `outputs` (or with SAG_VJP_GRAPHS=0) this is plain `execute`, differentiated by tf.grad.
   * Caller owns the results.
   */
  executeDifferentiable(inputs: Record<string, tf.Tensor>, outputs: string[]): tf.Tensor[] {
    const info = this.vjpGraph;
    if (!info || !useVjpGraphs() || !outputs.every((o) => info.outputs.includes(o)) || !inputs[info.wrt])
      return this.execute(inputs, outputs);
    const shapes: number[][] = [];
    // tfjs types customGrad's arguments as (...inputs: Array<Tensor | GradSaveFunc>).
    const op = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const values = this.execute({ ...inputs, [info.wrt]: x }, info.outputs);
      shapes.push(...values.map((v) => v.shape));
      save([x]);
      return {
        value: tf.concat(values.map((v) => tf.reshape(v, [-1]))),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          let offset = 0;
          const cotangents = shapes.map((shape) => {
            const part = tf.reshape(tf.slice(dy, [offset], [size(shape)]), shape);
            offset += size(shape);
            return part;
          });
          return [this.vjp({ ...inputs, [info.wrt]: saved[0] }, cotangents)];
        },
      };
    };
    const packed = (tf.customGrad(op) as (x: tf.Tensor) => tf.Tensor)(inputs[info.wrt]);
    // Slices, not tf.split: tfjs's SplitV gradient fails for a single part.
    const offsets = shapes.map((_, i) => shapes.slice(0, i).reduce((sum, shape) => sum + size(shape), 0));
    const all = shapes.map((shape, i) => tf.reshape(tf.slice(packed, [offsets[i]], [size(shape)]), shape));
    const picked = outputs.map((o) => all[info.outputs.indexOf(o)]);
    tf.dispose(all.filter((t) => !picked.includes(t)));
    return picked;
  }

  /** Whether the graph takes `name` as an input. */
  takesInput(name: string): boolean {
    return this.inputNames.has(name);
  }

  /**
   * Runs the graph; returns the requested outputs in order (caller owns them). A UNet's frame mix that is not given
   * is the identity (every frame attends to itself).
   */
  execute(inputs: Record<string, tf.Tensor>, outputs: string[]): tf.Tensor[] {
    const identity =
      !inputs[FRAME_MIX_INPUT] && inputs.sample && this.takesInput(FRAME_MIX_INPUT)
        ? frameMixMatrix(null, inputs.sample.shape[0])
        : null;
    try {
      return this.recordedRuns.execute(
        identity ? { ...inputs, [FRAME_MIX_INPUT]: identity } : inputs,
        outputs,
        (feeds) => {
          const result = this.model.execute(feeds, outputs);
          return Array.isArray(result) ? result : [result];
        },
      );
    } finally {
      identity?.dispose();
    }
  }

  /** GPU memory held by this graph's recorded runs, bytes. */
  get recordedBytes(): number {
    return this.recordedRuns.heldBytes;
  }

  dispose(): void {
    this.recordedRuns.dispose();
    this.model.dispose();
  }
}
