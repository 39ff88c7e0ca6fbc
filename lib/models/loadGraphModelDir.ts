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
        weightData: buffers,
      };
    },
  };
}

/** Loads a graph model directory written by `sag convert`. The caller disposes the model. */
export async function loadGraphModelDir(dir: string): Promise<tf.GraphModel> {
  return tf.loadGraphModel(fileSystemHandler(dir));
}
