/**
 * Measures the embedded models: 500 unguided DDIM-50 samples classified by the evaluator (mean max-probability,
 * class histogram), a grid of 64 samples (weights/digit-samples.png), and class guidance towards 7 (--num 16)
 * for none, freedom and sag (n = 4). Writes weights/train/out/evaluation.json and prints a table.
 *
 *   npx tsx weights/train/evaluateEmbedded.ts [--samples 500] [--backend wasm]
 *
 * A training checkpoint can be measured before it is shipped: `--unet <checkpoint.safetensors>` converts it
 * into a temporary model directory and writes the grid and evaluation.json next to the checkpoint instead;
 * `--unguided-only` skips the class-7 runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parseBackendChoice } from '../../lib/backend';
import { GuidanceMethod } from '../../lib/guidance/guidanceSettings';
import { imageGrid } from '../../lib/io/imageGrid';
import { writeImageFile } from '../../lib/io/imageFile';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { GenerateOptions } from '../../lib/options/generateOptions';
import { Pipeline } from '../../lib/pipeline/pipeline';
import { writePixelDiffusionModel } from '../../converters/pixel/writeEmbeddedModels';
import { DIGIT_SCHEDULER_CONFIG } from './digitScheduler';
import { EMBEDDED_GENERATION_DEFAULTS } from './exportEmbedded';
import { EMBEDDED_UNET_SPEC } from '../../converters/pixel/pixelUnetSpec';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function classify(
  evaluator: ImageClassifier,
  images: tf.Tensor4D,
): Promise<{ labels: number[]; maxProbs: number[]; probs: number[][] }> {
  const probs = evaluator.probabilities(images);
  const rows = (await probs.array()) as number[][];
  probs.dispose();
  return {
    labels: rows.map((r) => r.indexOf(Math.max(...r))),
    maxProbs: rows.map((r) => Math.max(...r)),
    probs: rows,
  };
}

async function main(): Promise<void> {
  const total = Number(arg('samples', '500'));
  const batch = 50;
  const checkpoint = arg('unet', '');
  const unguidedOnly = process.argv.includes('--unguided-only');
  let modelDir: string | undefined;
  if (checkpoint) {
    modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-candidate-'));
    await writePixelDiffusionModel(checkpoint, EMBEDDED_UNET_SPEC, DIGIT_SCHEDULER_CONFIG, modelDir, {
      defaults: EMBEDDED_GENERATION_DEFAULTS,
    });
  }
  const resultsDir = checkpoint ? path.dirname(checkpoint) : path.join('weights', 'train', 'out');
  const samplesPicture = checkpoint
    ? path.join(resultsDir, 'digit-samples.png')
    : path.join('weights', 'digit-samples.png');
  const pipeline = await Pipeline.load({
    model: modelDir,
    backend: parseBackendChoice(arg('backend', 'wasm')),
  });
  const evaluator = await ImageClassifier.load(embeddedModelDir('digit-evaluator'));
  const result: Record<string, unknown> = {};
  // Unguided quality.
  const labels: number[] = [];
  const maxProbs: number[] = [];
  const gridImages: tf.Tensor3D[] = [];
  const start = performance.now();
  for (let k = 0; k * batch < total; k++) {
    const r = await pipeline.generate({
      steps: 50,
      sampler: 'ddim',
      num: Math.min(batch, total - k * batch),
      seed: 1000 + k,
    });
    const c = await classify(evaluator, r.images);
    labels.push(...c.labels);
    maxProbs.push(...c.maxProbs);
    if (gridImages.length < 64)
      gridImages.push(...(tf.unstack(r.images).slice(0, 64 - gridImages.length) as tf.Tensor3D[]));
    r.images.dispose();
    process.stderr.write(`unguided: ${labels.length}/${total}\n`);
  }
  const seconds = (performance.now() - start) / 1000;
  const histogram = Array.from(
    { length: 10 },
    (_, d) => labels.filter((l) => l === d).length / labels.length,
  );
  result.unguided = {
    samples: labels.length,
    meanMaxProbability: maxProbs.reduce((a, b) => a + b, 0) / maxProbs.length,
    classFractions: histogram,
    secondsPerSample50Steps: seconds / labels.length,
  };
  const grid = await imageGrid(
    gridImages.map((image) => ({ image })),
    8,
  );
  await writeImageFile(samplesPicture, grid);
  tf.dispose([grid, ...gridImages]);
  // Speed of one digit (batch 1, DDIM 50, unguided), median of 3 after a warm-up.
  const singleTimes: number[] = [];
  for (let k = 0; k < 4; k++) {
    const t0 = performance.now();
    const r = await pipeline.generate({ steps: 50, sampler: 'ddim', num: 1, seed: k });
    r.images.dispose();
    if (k > 0) singleTimes.push((performance.now() - t0) / 1000);
  }
  result.secondsPerDigit50Steps = singleTimes.sort((a, b) => a - b)[1];
  // Class guidance towards 7.
  const guided: Record<string, unknown>[] = [];
  const common: Partial<GenerateOptions> = {
    steps: 50,
    sampler: 'ddim',
    num: 16,
    seed: 7,
    guidance: ['class'],
    target: '7',
  };
  const methods: [GuidanceMethod, number][] = unguidedOnly
    ? []
    : [
        ['none', 1],
        ['freedom', 1],
        ['sag', 4],
      ];
  for (const [method, n] of methods) {
    const t0 = performance.now();
    const r = await pipeline.generate({ ...common, method, n });
    const c = await classify(evaluator, r.images);
    const row = {
      method,
      n,
      fractionSeven: c.labels.filter((l) => l === 7).length / c.labels.length,
      meanProbabilitySeven: c.probs.reduce((s, p) => s + p[7], 0) / c.probs.length,
      seconds: (performance.now() - t0) / 1000,
    };
    guided.push(row);
    const g = await imageGrid(
      tf.unstack(r.images).map((image) => ({ image: image as tf.Tensor3D })),
      4,
    );
    await writeImageFile(path.join(resultsDir, `class7-${method}.png`), g);
    g.dispose();
    r.images.dispose();
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  result.classSeven = guided;
  result.backend = pipeline.backend.description;
  fs.writeFileSync(path.join(resultsDir, 'evaluation.json'), JSON.stringify(result, null, 2));
  const u = result.unguided as {
    meanMaxProbability: number;
    classFractions: number[];
    secondsPerSample50Steps: number;
  };
  const lines = [
    `one digit, DDIM 50, batch 1: ${(result.secondsPerDigit50Steps as number).toFixed(2)} s`,
    `unguided (${total} samples, DDIM 50): mean max-probability ${u.meanMaxProbability.toFixed(3)}; class fractions ${u.classFractions.map((f) => (f * 100).toFixed(1)).join(' ')} %`,
    `method   n  evaluator says 7  mean p(7)  seconds`,
    ...guided.map(
      (g) =>
        `${String(g.method).padEnd(8)} ${g.n}  ${((g.fractionSeven as number) * 100).toFixed(1).padStart(15)} %  ${(g.meanProbabilitySeven as number).toFixed(3).padStart(9)}  ${(g.seconds as number).toFixed(1).padStart(7)}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  evaluator.dispose();
  pipeline.dispose();
  if (modelDir) fs.rmSync(modelDir, { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
