import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadGraphModelDir } from './loadGraphModelDir';

/** What a converted model.json records about its VJP graph (userDefinedMetadata.sagVjp). */
export interface VjpGraphInfo {
  /** The input differentiated. */
  wrt: string;
  /** The output whose cotangent is given. */
  output: string;
  /** The input holding the cotangent (shaped like `output`). */
  cotangent: string;
  /** The output holding J^T cotangent (shaped like `wrt`). */
  grad: string;
}

/** A converted graph model with named inputs and outputs. Execute is synchronous (usable under tf.grad). */
export class ConvertedGraph {
  private constructor(
    readonly dir: string,
    readonly model: tf.GraphModel,
  ) {}

  static async load(dir: string): Promise<ConvertedGraph> {
    if (!fs.existsSync(path.join(dir, 'model.json')))
      throw new Error(`${dir}: converted model missing (no model.json; run 'sag convert')`);
    return new ConvertedGraph(dir, await loadGraphModelDir(dir));
  }

  /**
   * The VJP graph written by the converter (`J^T cotangent` of one output w.r.t. one input), or null for a model
   * converted without one (tf.grad through the forward graph is used then).
   */
  get vjpGraph(): VjpGraphInfo | null {
    const info = (this.model.metadata as { sagVjp?: VjpGraphInfo } | undefined)?.sagVjp;
    return info ?? null;
  }

  /**
   * J^T cotangent w.r.t. the VJP graph's input at `inputs` (the forward's inputs): one run of the converter's VJP
   * graph, which recomputes the forward and releases each activation after its last use. Caller owns the result.
   */
  vjp(inputs: Record<string, tf.Tensor>, cotangent: tf.Tensor): tf.Tensor {
    const info = this.vjpGraph;
    if (!info) throw new Error(`${this.dir}: converted without a VJP graph (convert it again with this sag)`);
    return this.execute({ ...inputs, [info.cotangent]: cotangent }, [info.grad])[0];
  }

  /** Runs the graph; returns the requested outputs in order (caller owns them). */
  execute(inputs: Record<string, tf.Tensor>, outputs: string[]): tf.Tensor[] {
    const result = this.model.execute(inputs, outputs);
    return Array.isArray(result) ? result : [result];
  }

  dispose(): void {
    this.model.dispose();
  }
}
