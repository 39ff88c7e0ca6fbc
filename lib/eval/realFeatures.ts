import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile } from '../io/safetensors';
import { seededRandom } from '../seededRandom';
import { FeatureStatistics, featureStatistics, frechetDistance } from './frechetDistance';

/** Where an evaluator directory keeps the features of real images (written by weights/train/exportRealFeatures.ts). */
export const REAL_FEATURES_FILE = 'real-features.safetensors';

/**
 * The evaluator's features of real images: the statistics of a reference set per class (and of all classes,
 * under 'all'), and the features of held-out images with their labels, so that the Fréchet distance of N samples
 * can be set beside that of N real held-out images (the distance's floor at that sample size: with fewer samples
 * than feature dimensions it is far from 0 even for real images).
 */
export interface RealFeatures {
  reference: Map<string, FeatureStatistics>;
  heldOut: { features: Float32Array; labels: Int32Array };
  dimension: number;
  /** What the images are, from the file's metadata. */
  description: string;
}

/** The real features of an evaluator directory, or null when it has none. */
export function loadRealFeatures(evaluatorDir: string): RealFeatures | null {
  const file = path.join(evaluatorDir, REAL_FEATURES_FILE);
  if (!fs.existsSync(file)) return null;
  const tensors = SafetensorsFile.open(file);
  try {
    const heldOutFeatures = tensors.readFloat32('held_out.features');
    const [count, dimension] = tensors.entry('held_out.features').shape;
    const labels = Int32Array.from(tensors.readFloat32('held_out.labels'));
    if (labels.length !== count) throw new Error(`${file}: held_out.labels does not match the features`);
    const reference = new Map<string, FeatureStatistics>();
    for (const name of tensors.names()) {
      const match = /^reference\.([^.]+)\.mean$/.exec(name);
      if (!match) continue;
      const key = match[1];
      reference.set(key, {
        mean: Float64Array.from(tensors.readFloat32(name)),
        covariance: Float64Array.from(tensors.readFloat32(`reference.${key}.covariance`)),
        dimension,
        count: Number(tensors.readFloat32(`reference.${key}.count`)[0]),
      });
    }
    return {
      reference,
      heldOut: { features: heldOutFeatures, labels },
      dimension,
      description: tensors.metadata.description ?? '',
    };
  } finally {
    tensors.close();
  }
}

/** The reference key of a class target ('7'), or 'all'. */
export function referenceKey(real: RealFeatures, target: string | null): string {
  return target !== null && real.reference.has(target) ? target : 'all';
}

/**
 * The Fréchet distance of `count` held-out real images of the reference's class (seeded pick; all of them when
 * there are fewer) to the reference: what a perfect generator would score with that many samples.
 */
export function realImagesFrechetDistance(
  real: RealFeatures,
  key: string,
  count: number,
  seed = 1,
): { distance: number; count: number } {
  const d = real.dimension;
  const rows: number[] = [];
  for (let i = 0; i < real.heldOut.labels.length; i++)
    if (key === 'all' || String(real.heldOut.labels[i]) === key) rows.push(i);
  const random = seededRandom(seed);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const picked = rows.slice(0, count);
  const features = new Float32Array(picked.length * d);
  picked.forEach((row, k) => features.set(real.heldOut.features.subarray(row * d, (row + 1) * d), k * d));
  const reference = real.reference.get(key) as FeatureStatistics;
  return { distance: frechetDistance(featureStatistics(features, d), reference), count: picked.length };
}
