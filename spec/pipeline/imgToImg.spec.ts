import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Pipeline } from '../../lib/pipeline/pipeline';
import {
  ConvertedFixtures,
  EXAMPLES,
  convertFixtureModels,
  loadFixturePipeline,
  removeFixtureModels,
} from '../helpers/fixturePipeline';
import { relativeL2 } from '../helpers/relativeError';

let models: ConvertedFixtures;
let pipeline: Pipeline;
beforeAll(async () => {
  models = await convertFixtureModels();
  pipeline = await loadFixturePipeline(models);
});
afterAll(() => {
  pipeline.dispose();
  removeFixtureModels(models);
});

test('img2img runs the last strength * T steps from the noised init image, and the init image matters', async () => {
  const options = { steps: 10, size: [64, 64] as [number, number], cfg: 1, seed: 2 };
  const face = await pipeline.generate({
    ...options,
    strength: 0.3,
    initImage: path.join(EXAMPLES, 'face-sketch.png'),
  });
  const waves = await pipeline.generate({
    ...options,
    strength: 0.3,
    initImage: path.join(EXAMPLES, 'style-waves.png'),
  });
  expect(face.records.map((r) => r.step)).toEqual([7, 8, 9]);
  expect(relativeL2(face.images, waves.images)).toBeGreaterThan(1e-2);
  tf.dispose([face.images, waves.images]);
  await expect(
    pipeline.generate({ ...options, strength: 1.5, initImage: path.join(EXAMPLES, 'face-sketch.png') }),
  ).rejects.toThrow('strength: expected a number in (0, 1], got 1.5');
});
