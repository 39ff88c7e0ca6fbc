import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadGraphModelDir } from './loadGraphModelDir';

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

  /** Runs the graph; returns the requested outputs in order (caller owns them). */
  execute(inputs: Record<string, tf.Tensor>, outputs: string[]): tf.Tensor[] {
    const result = this.model.execute(inputs, outputs);
    return Array.isArray(result) ? result : [result];
  }

  dispose(): void {
    this.model.dispose();
  }
}
