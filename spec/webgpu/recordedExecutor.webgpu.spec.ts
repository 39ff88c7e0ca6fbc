import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { startBackend } from '../../lib/backend';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import { Pipeline } from '../../lib/pipeline/pipeline';
import {
  RecordedGraphRuns,
  recordedExecutorStats,
  resetRecordedExecutorStats,
  setGraphExecutor,
} from '../../lib/recorded';
import {
  ConvertedFixtures,
  EXAMPLES,
  convertFixtureModels,
  removeFixtureModels,
} from '../helpers/fixturePipeline';
import { describeOnWebgpu } from '../helpers/webgpuSuite';

const DIGIT_UNET = path.join(__dirname, '..', '..', 'weights', 'digit-unet', 'unet');

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Inputs of the digit UNet, different for every `k` (noise, timestep, batch entries). */
function digitInputs(k: number): Record<string, tf.Tensor> {
  return {
    sample: tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 100 + k),
    timestep: tf.tensor1d([50 + 97 * k, 900 - 61 * k]),
  };
}

/** The digit UNet's eps and its input VJP (through the converted VJP graph) for `inputs`, read back. */
async function epsAndVjp(unet: ConvertedGraph, inputs: Record<string, tf.Tensor>): Promise<Float32Array[]> {
  const [eps] = unet.execute(inputs, ['out']);
  const cotangent = tf.cos(eps);
  const [grad] = unet.vjpAll('sagVjp', inputs, [cotangent]);
  const values = [(await eps.data()) as Float32Array, (await grad.data()) as Float32Array];
  tf.dispose([eps, cotangent, grad]);
  return values;
}

const allocatedBytes = () => (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? 0;

describeOnWebgpu('the recorded executor on webgpu', () => {
  let unet: ConvertedGraph;
  beforeAll(async () => {
    await startBackend('webgpu', { announce: false });
    unet = await ConvertedGraph.load(DIGIT_UNET);
  });
  afterAll(() => {
    setGraphExecutor('recorded');
    unet.dispose();
  });

  test('replays equal tfjs for new inputs on every call (eps and VJP graph), leaving no tensors', async () => {
    resetRecordedExecutorStats();
    for (let k = 0; k < 4; k++) {
      const inputs = digitInputs(k);
      setGraphExecutor('tfjs');
      const expected = await epsAndVjp(unet, inputs);
      setGraphExecutor('recorded');
      const before = tf.memory().numTensors;
      const got = await epsAndVjp(unet, inputs);
      expect(tf.memory().numTensors).toBe(before);
      expect(maxDifference(got[0], expected[0])).toBeLessThanOrEqual(1e-6);
      expect(maxDifference(got[1], expected[1])).toBeLessThanOrEqual(1e-6);
      tf.dispose(Object.values(inputs));
    }
    expect(recordedExecutorStats.recordings).toBe(2);
    expect(recordedExecutorStats.replays).toBe(6);
    expect(recordedExecutorStats.refusals).toBe(0);
  });

  test('GPU memory stays flat over replays: the same after call 3 as after call 30', async () => {
    setGraphExecutor('recorded');
    const inputs = digitInputs(7);
    let afterThree = 0;
    for (let k = 1; k <= 30; k++) {
      const [eps] = unet.execute(inputs, ['out']);
      await eps.data();
      eps.dispose();
      if (k === 3) afterThree = allocatedBytes();
    }
    expect(allocatedBytes()).toBe(afterThree);
    tf.dispose(Object.values(inputs));
  });

  test('a new batch size records anew; a disposed graph gives its recordings back', async () => {
    setGraphExecutor('recorded');
    const graph = await ConvertedGraph.load(DIGIT_UNET);
    const one = { sample: tf.randomNormal([1, 32, 32, 1], 0, 1, 'float32', 3), timestep: tf.tensor1d([400]) };
    const [eps] = graph.execute(one, ['out']);
    const [again] = graph.execute(one, ['out']);
    expect(maxDifference(await eps.data(), await again.data())).toBe(0);
    const held = graph.recordedBytes;
    expect(held).toBeGreaterThan(0);
    const before = allocatedBytes();
    graph.dispose();
    expect(before - allocatedBytes()).toBeGreaterThanOrEqual(held);
    tf.dispose([eps, again, ...Object.values(one)]);
  });

  test('under a gradient tape the graph runs through tfjs, so the gradient is right', async () => {
    const inputs = digitInputs(2);
    const gradient = (executor: 'tfjs' | 'recorded') => {
      setGraphExecutor(executor);
      return tf.grad((x: tf.Tensor) => tf.sum(tf.square(unet.execute({ ...inputs, sample: x }, ['out'])[0])))(
        inputs.sample,
      );
    };
    const expected = gradient('tfjs');
    const got = gradient('recorded');
    expect(maxDifference(await got.data(), await expected.data())).toBeLessThanOrEqual(1e-6);
    tf.dispose([expected, got, ...Object.values(inputs)]);
  });

  test('a run that copies buffers outside its dispatches is not recorded, and stays right for new inputs', async () => {
    setGraphExecutor('recorded');
    resetRecordedExecutorStats();
    const runs = new RecordedGraphRuns();
    // dataToGPU copies the tensor into a new buffer with a command outside tfjs's dispatches.
    const run = (feeds: Record<string, tf.Tensor>) => {
      const doubled = tf.mul(feeds.x, 2);
      const { tensorRef } = doubled.dataToGPU();
      const result = tf.add(tensorRef, 1);
      tf.dispose([doubled, tensorRef]);
      return [result];
    };
    // Large enough to stay on the GPU (tfjs computes small tensors of CPU values on the CPU).
    for (const offset of [1, 5]) {
      const values = Array.from({ length: 4096 }, (_, i) => offset + (i % 7));
      const x = tf.tensor1d(values);
      const [y] = runs.execute({ x }, ['y'], run);
      expect(Array.from(await y.data())).toEqual(values.map((v) => 2 * v + 1));
      tf.dispose([x, y]);
    }
    expect(recordedExecutorStats.refusals).toBe(1);
    expect(recordedExecutorStats.refusalReason).toMatch(/copies buffers outside its dispatches/);
    expect(recordedExecutorStats.replays).toBe(0);
    runs.dispose();
  });

  test('a guided run of 30 steps holds as much GPU memory after step 30 as after step 3', async () => {
    setGraphExecutor('recorded');
    const pipeline = await Pipeline.load({ backend: 'webgpu', announceBackend: false });
    const atStep: number[] = [];
    const result = await pipeline.generate(
      {
        guidance: ['class'],
        target: '3',
        method: 'sag',
        n: 2,
        steps: 30,
        window: { start: 0, end: 29 },
        seed: 2,
      },
      { onWarning: () => undefined, onStep: () => atStep.push(allocatedBytes()) },
    );
    result.images.dispose();
    pipeline.dispose();
    expect(atStep).toHaveLength(30);
    expect(atStep[29]).toBe(atStep[2]);
  });

  describe('a Stable Diffusion pipeline (UNet with CFG, VAE decoder and CLIP, their VJP graphs)', () => {
    let models: ConvertedFixtures;
    beforeAll(async () => {
      models = await convertFixtureModels();
    });
    afterAll(() => removeFixtureModels(models));

    test('style guidance, SAG n = 2: the same image with either executor', async () => {
      const images: Float32Array[] = [];
      for (const executor of ['tfjs', 'recorded'] as const) {
        setGraphExecutor(executor);
        resetRecordedExecutorStats();
        const pipeline = await Pipeline.load({
          model: models.sd,
          clip: models.clip,
          backend: 'webgpu',
          announceBackend: false,
        });
        const result = await pipeline.generate(
          {
            prompt: 'a cat',
            guidance: ['style'],
            style: path.join(EXAMPLES, 'style-waves.png'),
            steps: 4,
            window: { start: 1, end: 2 },
            size: [64, 64],
            cfg: 3,
            seed: 11,
            rhoScale: 2,
            n: 2,
          },
          { onWarning: () => undefined },
        );
        images.push((await result.images.data()) as Float32Array);
        result.images.dispose();
        pipeline.dispose();
        if (executor === 'recorded') {
          expect(recordedExecutorStats.replays).toBeGreaterThan(0);
          expect(recordedExecutorStats.refusals).toBe(0);
        } else expect(recordedExecutorStats.recordings).toBe(0);
      }
      expect(maxDifference(images[1], images[0])).toBeLessThanOrEqual(1e-6);
    });
  });
});
