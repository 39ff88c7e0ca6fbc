import * as fs from 'fs';
import * as path from 'path';
import { CheckpointWeights } from '../weights/weightSource';
import { FusedOps } from './fusedOps';
import { GraphBuilder } from './graphBuilder';
import { checkGraph, formatHistogram } from './graphCheck';
import { NnLayers } from './nnLayers';
import { WeightShardWriter } from './weightShardWriter';
import { makeDirectories } from '../../lib/io/makeDirectories';

export interface WriteGraphModelOptions {
  dtype: 'float32' | 'float16';
  verbose?: boolean;
  log?: (line: string) => void;
  /** sag's fused ops (default: all); false writes primitive ops only. */
  fusedOps?: FusedOps;
}

export interface WrittenGraphModel {
  dir: string;
  nodes: number;
  weightBytes: number;
  histogram: Record<string, number>;
}

/**
 * Builds one graph model into `dir` (created): `build` declares inputs and outputs on the builder and emits the
 * network; the graph is then checked (primitive ops with gradients only) and model.json written.
 */
export function writeGraphModel(
  dir: string,
  label: string,
  weights: CheckpointWeights,
  options: WriteGraphModelOptions,
  build: (nn: NnLayers) => void,
): WrittenGraphModel {
  makeDirectories(dir);
  const writer = new WeightShardWriter(dir);
  const g = new GraphBuilder(writer, options.dtype);
  const nn = new NnLayers(g, weights, options.fusedOps ?? true);
  build(nn);
  const { histogram } = checkGraph(g.nodes, label);
  const json = g.modelJson();
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  if (options.verbose && options.log) {
    options.log(
      `${label}: ${g.nodes.length} nodes, ${(writer.bytesWritten / 2 ** 20).toFixed(1)} MB of weights`,
    );
    options.log(formatHistogram(histogram));
  }
  return { dir, nodes: g.nodes.length, weightBytes: writer.bytesWritten, histogram };
}
