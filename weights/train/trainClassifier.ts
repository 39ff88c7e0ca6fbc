/**
 * Trains a digit classifier on the 9,000 clean training digits (random shifts of up to 2 pixels) and reports its
 * accuracy on the 1,000 held-out digits; writes a safetensors checkpoint.
 *
 *   npx tsx weights/train/trainClassifier.ts --which classifier|evaluator --out weights/train/out [--epochs 14]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { DIGIT_CLASSIFIER_SPEC, DIGIT_EVALUATOR_SPEC } from '../../converters/pixel/classifierSpec';
import { ClassifierModel } from './classifierModel';
import { DigitSet, loadDigits } from './mnistData';
import { seededRandom } from '../../lib/seededRandom';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Images in [0, 1], each shifted by (dy, dx) with background fill. */
function batchImages(set: DigitSet, indices: number[], shifts: [number, number][] | null): tf.Tensor4D {
  const out = new Float32Array(indices.length * 1024);
  indices.forEach((idx, k) => {
    const [dy, dx] = shifts ? shifts[k] : [0, 0];
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const sy = y - dy;
        const sx = x - dx;
        const v = sy >= 0 && sy < 32 && sx >= 0 && sx < 32 ? set.images[idx * 1024 + sy * 32 + sx] : -1;
        out[k * 1024 + y * 32 + x] = (v + 1) / 2;
      }
  });
  return tf.tensor4d(out, [indices.length, 32, 32, 1]);
}

export function accuracy(model: ClassifierModel, set: DigitSet): number {
  let correct = 0;
  for (let start = 0; start < set.count; start += 250) {
    const idx = Array.from({ length: Math.min(250, set.count - start) }, (_, k) => start + k);
    const predicted = tf.tidy(() => tf.argMax(model.apply(batchImages(set, idx, null)).logits, 1).dataSync());
    idx.forEach((i, k) => (correct += +(predicted[k] === set.labels[i])));
  }
  return correct / set.count;
}

async function main(): Promise<void> {
  const which = arg('which', 'classifier');
  const spec = which === 'evaluator' ? DIGIT_EVALUATOR_SPEC : DIGIT_CLASSIFIER_SPEC;
  const seed = Number(arg('seed', which === 'evaluator' ? '29' : '7'));
  const epochs = Number(arg('epochs', '14'));
  const out = arg('out', 'weights/train/out');
  const batch = 64;
  await startBackend('wasm');
  fs.mkdirSync(out, { recursive: true });
  const { train, heldOut } = loadDigits();
  const model = new ClassifierModel(spec, seed);
  const optimizer = tf.train.adam(3e-3);
  const rand = seededRandom(seed);
  const log = (line: string) => {
    fs.appendFileSync(path.join(out, `train-${spec.name}.log`), `${line}\n`);
    process.stdout.write(`${line}\n`);
  };
  const stepsPerEpoch = Math.floor(train.count / batch);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = Array.from({ length: train.count }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    // Cosine decay from 3e-3 over the run.
    (optimizer as unknown as { learningRate: number }).learningRate =
      1.5e-3 * (1 + Math.cos((Math.PI * epoch) / epochs));
    let total = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const idx = order.slice(s * batch, (s + 1) * batch);
      const shifts = idx.map(
        () => [Math.floor(rand() * 5) - 2, Math.floor(rand() * 5) - 2] as [number, number],
      );
      const labels = Int32Array.from(idx.map((i) => train.labels[i]));
      const loss = tf.tidy(() => {
        const x = batchImages(train, idx, shifts);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), spec.classes);
        return optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(y, model.apply(x).logits) as tf.Scalar,
          true,
        ) as tf.Scalar;
      });
      total += loss.dataSync()[0];
      loss.dispose();
    }
    log(
      `${spec.name} epoch ${epoch + 1}: train loss ${(total / stepsPerEpoch).toFixed(4)}, held-out accuracy ${(accuracy(model, heldOut) * 100).toFixed(2)}%`,
    );
  }
  const params = model.exportParameters();
  const file = path.join(out, `${spec.name}.safetensors`);
  writeSafetensors(
    file,
    params.map(([n, s]) => [n, s]),
    (name) => params.find((p) => p[0] === name)?.[2] as Float32Array,
    {
      format: 'pt',
      spec: JSON.stringify(spec),
      seed: String(seed),
      heldOutAccuracy: String(accuracy(model, heldOut)),
    },
  );
  log(`wrote ${file}`);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
