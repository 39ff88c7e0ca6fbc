import * as tf from '@tensorflow/tfjs';
import { directoryModelFiles } from '../io/directoryModelFiles';
import { MissingModelFile, ModelFiles, readJson, readOr } from '../io/modelFiles';
// Graphs may contain sag's fused ops: importing the kernels registers them with tfjs-converter and tfjs.
import '../kernels';

/** A tfjs IOHandler reading model.json and its shards through `files` (no tfjs-node, no fetch of tfjs's own). */
export function graphModelHandler(files: ModelFiles): { load(): Promise<tf.io.ModelArtifacts> } {
  return {
    load: async () => {
      let json: tf.io.ModelJSON;
      try {
        json = (await readJson(files, 'model.json')) as tf.io.ModelJSON;
      } catch (error) {
        if (error instanceof MissingModelFile)
          throw new Error(`${files.location}: not a converted model directory (no model.json)`);
        throw error;
      }
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) {
          buffers.push(await readOr(files, p, () => files.readBytes(p), 'weight shard missing'));
        }
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs,
        weightData: shardsTfjsReadsRight(buffers),
      };
    },
  };
}

/** Loads a graph model directory written by `sag convert`. The caller disposes the model. */
export async function loadGraphModelDir(dir: string): Promise<tf.GraphModel> {
  return tf.loadGraphModel(graphModelHandler(directoryModelFiles(dir)));
}

/**
 * tfjs (4.22, CompositeArrayBuffer) assumes that when all shards but the last have one size, the last is not
 * larger, and then finds bytes by division: a last shard larger than the others is read as zeros past their size.
 * That happens when a small forward graph (one shard) is followed by its larger VJP-graph shard. Cutting such a
 * last shard into pieces of the common size keeps the assumption true.
 */
export function shardsTfjsReadsRight(buffers: ArrayBuffer[]): ArrayBuffer[] {
  if (buffers.length < 2) return buffers;
  const size = buffers[0].byteLength;
  const last = buffers[buffers.length - 1];
  const uniform = buffers.slice(0, -1).every((b) => b.byteLength === size);
  if (!uniform || last.byteLength <= size || size === 0) return buffers;
  const pieces: ArrayBuffer[] = [];
  for (let offset = 0; offset < last.byteLength; offset += size)
    pieces.push(last.slice(offset, Math.min(offset + size, last.byteLength)));
  return [...buffers.slice(0, -1), ...pieces];
}
