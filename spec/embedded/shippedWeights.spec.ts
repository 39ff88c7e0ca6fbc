import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readImageFile } from '../../lib/io/imageFile';
import { ImageClassifier } from '../../lib/models/imageClassifier';
import { PixelDiffusionModel } from '../../lib/models/pixelDiffusionModel';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { Pipeline } from '../../lib/pipeline/pipeline';
import { loadDigits } from '../../weights/train/mnistData';
import { runCli } from '../helpers/runCli';
import { testBackendName, useTestBackend } from '../helpers/testBackend';
import { makeTempDir } from '../helpers/tempDir';

const WEIGHTS = path.join(__dirname, '..', '..', 'weights');

/** Bytes of the files under dir, leaving out training outputs (weights/train/<run>/, git-ignored). */
function directoryBytes(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((s, e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && path.basename(dir) === 'train') return s;
    return s + (e.isDirectory() ? directoryBytes(p) : fs.statSync(p).size);
  }, 0);
}

beforeAll(useTestBackend);

test('the shipped models load, and weights/ stays under 20 MB', async () => {
  const unet = await PixelDiffusionModel.load(embeddedModelDir('digit-unet'));
  expect(unet.imageSize).toBe(32);
  const out = tf.tidy(
    () => unet.unet.execute({ sample: tf.zeros([2, 32, 32, 1]), timestep: tf.tensor1d([999]) }, ['out'])[0],
  );
  expect(out.shape).toEqual([2, 32, 32, 1]);
  unet.dispose();
  expect(directoryBytes(WEIGHTS)).toBeLessThan(20 * 2 ** 20);
});

test.each(['digit-classifier', 'digit-evaluator'] as const)(
  '%s classifies >= 98%% of the held-out digits',
  async (name) => {
    const classifier = await ImageClassifier.load(embeddedModelDir(name));
    const { heldOut } = loadDigits();
    const images = tf.tidy(
      () => tf.div(tf.add(tf.tensor4d(heldOut.images, [heldOut.count, 32, 32, 1]), 1), 2) as tf.Tensor4D,
    );
    const predicted = tf.tidy(() => tf.argMax(classifier.logits(images), 1).dataSync());
    const correct = Array.from(predicted).filter((p, i) => p === heldOut.labels[i]).length;
    expect(correct / heldOut.count).toBeGreaterThanOrEqual(0.98);
    images.dispose();
    classifier.dispose();
  },
);

test('class guidance on the shipped weights lowers the cross-entropy of the target', async () => {
  const pipeline = await Pipeline.load({ backend: testBackendName(), announceBackend: false });
  const options = { guidance: ['class' as const], target: '3', steps: 10, num: 2, seed: 4 };
  const none = await pipeline.generate({ ...options, method: 'none' });
  const sag = await pipeline.generate({ ...options, method: 'sag', n: 2 });
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  expect(sum(sag.finalLosses)).toBeLessThan(sum(none.finalLosses));
  tf.dispose([none.images, sag.images]);
  pipeline.dispose();
});

test('sag generate with no model options uses the embedded models', async () => {
  const dir = makeTempDir('embedded-cli');
  const out = path.join(dir, 'digit.png');
  const style = path.join(WEIGHTS, 'examples', 'digit-style-4.png');
  const run = await runCli([
    'generate',
    '--backend',
    testBackendName(),
    '--guidance',
    'style',
    '--style',
    style,
    '--steps',
    '6',
    '--num',
    '2',
    '--out',
    out,
  ]);
  expect(run.stderr).not.toMatch(/error/);
  expect(run.code).toBe(0);
  expect(readImageFile(out).width).toBeGreaterThan(64);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('progress: silent in a pipe, plain lines with --progress', async () => {
  const dir = makeTempDir('embedded-progress');
  const args = [
    'generate',
    '--backend',
    testBackendName(),
    '--steps',
    '5',
    '--out',
    path.join(dir, 'digit.png'),
  ];
  const quiet = await runCli(args);
  const verbose = await runCli([...args, '--progress']);
  expect(quiet.code).toBe(0);
  expect(verbose.code).toBe(0);
  expect(quiet.stderr).not.toMatch(/steps \|/);
  expect(verbose.stderr).toMatch(/generate 5\/5 steps \| [\d.]+ it\/s/);
  fs.rmSync(dir, { recursive: true, force: true });
});
