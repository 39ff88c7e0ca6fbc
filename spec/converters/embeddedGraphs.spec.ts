import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeClassifierModel, writePixelDiffusionModel } from '../../converters/pixel/writeEmbeddedModels';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import {
  ClassifierSpec,
  DIGIT_CLASSIFIER_SPEC,
  DIGIT_EVALUATOR_SPEC,
} from '../../converters/pixel/classifierSpec';
import { ClassifierModel } from '../../weights/train/classifierModel';
import { PixelUnetModel } from '../../weights/train/pixelUnetModel';
import { PixelUnetSpec } from '../../converters/pixel/pixelUnetSpec';
import { DIGIT_SCHEDULER_CONFIG } from '../../weights/train/digitScheduler';
import { useTestBackend } from '../helpers/testBackend';
import { relativeL2 } from '../helpers/relativeError';
import { makeTempDir } from '../helpers/tempDir';

let tmp: string;
beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('embedded-graphs');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function saveCheckpoint(file: string, params: [string, number[], Float32Array][]): void {
  writeSafetensors(
    file,
    params.map(([n, s]) => [n, s]),
    (name) => params.find((p) => p[0] === name)?.[2] as Float32Array,
  );
}

test('the emitted pixel UNet graph computes what the training model computes', async () => {
  const spec: PixelUnetSpec = {
    imageChannels: 1,
    channels: [8, 16],
    attentionLevels: [1],
    groups: 4,
    timeEmbedding: 32,
  };
  const model = new PixelUnetModel(spec, 3);
  // Perturb the zero-initialised biases and unit norms so that every parameter matters.
  for (const v of model.params.values()) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, 'float32', 9)));
  const checkpoint = path.join(tmp, 'unet.safetensors');
  saveCheckpoint(checkpoint, model.exportParameters());
  const out = path.join(tmp, 'unet-model');
  await writePixelDiffusionModel(checkpoint, spec, DIGIT_SCHEDULER_CONFIG, out);
  const graph = await ConvertedGraph.load(path.join(out, 'unet'));
  const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  for (const t of [3, 517.25]) {
    const expected = model.apply(x, [t, t]);
    const got = graph.execute({ sample: x, timestep: tf.tensor1d([t]) }, ['out'])[0];
    expect(relativeL2(got, expected)).toBeLessThan(1e-5);
  }
  graph.dispose();
  expect(JSON.parse(fs.readFileSync(path.join(out, 'sag.json'), 'utf8')).format).toBe('sag-pixel-diffusion');
  const reloaded = new PixelUnetModel(spec, 99);
  reloaded.importParameters(checkpoint);
  expect(relativeL2(reloaded.apply(x, [5]), model.apply(x, [5]))).toBeLessThan(1e-6);
});

test.each([DIGIT_CLASSIFIER_SPEC, DIGIT_EVALUATOR_SPEC].map((s) => [s.name, s] as [string, ClassifierSpec]))(
  'the emitted %s graph computes what the training model computes',
  async (name, spec) => {
    const model = new ClassifierModel(spec, 5);
    for (const v of model.params.values())
      v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, 'float32', 9)));
    const checkpoint = path.join(tmp, `${name}.safetensors`);
    saveCheckpoint(checkpoint, model.exportParameters());
    const out = path.join(tmp, name);
    await writeClassifierModel(checkpoint, spec, out);
    const graph = await ConvertedGraph.load(path.join(out, 'classifier'));
    const x = tf.randomUniform([3, 32, 32, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
    const expected = model.apply(x);
    const [logits, features] = graph.execute({ image: x }, ['logits', 'features']);
    expect(relativeL2(logits, expected.logits)).toBeLessThan(1e-5);
    expect(relativeL2(features, expected.features)).toBeLessThan(1e-5);
    graph.dispose();
  },
);
