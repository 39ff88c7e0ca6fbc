import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

/** A tfjs IOHandler reading model.json and its shards with fs (no tfjs-node needed). */
export function fileSystemHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const file = path.join(dir, 'model.json');
      if (!fs.existsSync(file)) throw new Error(`${dir}: not a converted model directory (no model.json)`);
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest as tf.io.WeightsManifestConfig) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) {
          const shard = path.join(dir, p);
          if (!fs.existsSync(shard)) throw new Error(`${shard}: weight shard missing`);
          const b = fs.readFileSync(shard);
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
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
  return tf.loadGraphModel(fileSystemHandler(dir));
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
