import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { measurePeakBytes } from '../../lib/bench/peakMemory';
import { GuidanceMethod, stepCountSchedule } from '../../lib/guidance/guidanceSettings';
import { GuidedSamplingRun, guidedStep, runGuidedSampling } from '../../lib/guidance/guidedSampling';
import { encodeImage, imageFileToTensor } from '../../lib/io/imageFile';
import { createStyleLoss } from '../../lib/losses/styleLoss';
import { EULER } from '../../lib/ode/tableaus';
import { LatentDenoiser } from '../../lib/pipeline/latentDenoiser';
import { GenerateOptions } from '../../lib/options/generateOptions';
import { Pipeline } from '../../lib/pipeline/pipeline';
import { SeededNoise } from '../../lib/samplers/seededNoise';
import { createSampler, disposeSamplerState } from '../../lib/samplers';
import {
  ConvertedFixtures,
  EXAMPLES,
  convertFixtureModels,
  loadFixturePipeline,
  removeFixtureModels,
} from '../helpers/fixturePipeline';
import { testBackendName } from '../helpers/testBackend';

let models: ConvertedFixtures;
let pipeline: Pipeline;
const style = path.join(EXAMPLES, 'style-waves.png');

/** A short style-guided run on sd-tiny (64x64 images, 6 DDIM steps, guided steps 1..4). */
const base: Partial<GenerateOptions> = {
  prompt: 'a cat',
  guidance: ['style'],
  style,
  steps: 6,
  window: { start: 1, end: 4 },
  size: [64, 64],
  cfg: 1,
  seed: 11,
  rhoScale: 2,
  n: 2,
};

beforeAll(async () => {
  models = await convertFixtureModels();
  pipeline = await loadFixturePipeline(models);
});

afterAll(() => {
  pipeline.dispose();
  removeFixtureModels(models);
});

async function finalLoss(options: Partial<GenerateOptions>): Promise<number> {
  const result = await pipeline.generate({ ...base, ...options }, { onWarning: () => undefined });
  result.images.dispose();
  return result.finalLosses[0];
}

// Measured when written (wasm): style loss none 453, SAG 335, FreeDoM 335, UG 358.
test('every method lowers the style loss relative to none on sd-tiny: SAG and FreeDoM by 20 %, UG by 10 %', async () => {
  const none = await finalLoss({ method: 'none' });
  const sag = await finalLoss({ method: 'sag' });
  const freedom = await finalLoss({ method: 'freedom' });
  const ug = await finalLoss({ method: 'ug' });
  expect(sag).toBeLessThan(0.8 * none);
  expect(freedom).toBeLessThan(0.8 * none);
  expect(ug).toBeLessThan(0.9 * none);
});

test("--method freedom runs SAG's path with n = 1: the same images (FreeDoM's own formula: spec/adjoint/freedomOneStep)", async () => {
  const a = await pipeline.generate({ ...base, method: 'sag', n: 1, repeats: 2 });
  const b = await pipeline.generate({ ...base, method: 'freedom', repeats: 2 });
  expect(Buffer.from(a.images.dataSync().buffer).equals(Buffer.from(b.images.dataSync().buffer))).toBe(true);
  tf.dispose([a.images, b.images]);
});

test('the same seed and options give byte-identical PNGs (with time travel and CFG)', async () => {
  const options = { ...base, repeats: 2, cfg: 3, sampler: 'dpmpp2m' as const };
  const png = async () => {
    const r = await pipeline.generate(options);
    const bytes = await encodeImage(tf.squeeze(r.images, [0]) as tf.Tensor3D, 'png');
    r.images.dispose();
    return bytes;
  };
  const first = await png();
  expect((await png()).equals(first)).toBe(true);
  const other = await pipeline.generate({ ...options, seed: 12 });
  expect((await encodeImage(tf.squeeze(other.images, [0]) as tf.Tensor3D, 'png')).equals(first)).toBe(false);
  other.images.dispose();
});

describe('memory discipline', () => {
  function makeRun(
    method: GuidanceMethod,
    n: number,
    sd = pipeline.sd,
  ): { run: GuidedSamplingRun; dispose: () => void } {
    const models = sd as NonNullable<typeof sd>;
    const cond = tf.zeros([1, 77, 32]);
    const uncond = tf.zeros([1, 77, 32]);
    const denoiser = new LatentDenoiser(models, cond, uncond, 2);
    const image = imageFileToTensor(style);
    const loss = createStyleLoss(pipeline.clip as NonNullable<Pipeline['clip']>, image);
    image.dispose();
    const sampler = createSampler('dpmpp2m', denoiser.schedule, 5);
    return {
      run: {
        denoiser,
        sampler,
        settings: {
          method,
          n: stepCountSchedule(n),
          tableau: EULER,
          grad: 'symplectic',
          grid: 'paper',
          window: { start: 1, end: 3 },
          repeats: 2,
          rho: { mode: 'rms', scale: 0.5, max: Infinity },
        },
        lossOnSample: (x0) => loss(denoiser.toImage(x0)),
        noise: new SeededNoise(1),
      },
      dispose: () => {
        loss.dispose();
        denoiser.dispose();
      },
    };
  }

  test.each(['sag', 'freedom', 'ug', 'none'] as GuidanceMethod[])(
    '%s: tf.memory().numTensors is the same after every main step',
    async (method) => {
      const { run, dispose } = makeRun(method, 2);
      const counts: number[] = [];
      const xT = new SeededNoise(3).normal([1, 8, 8, 4]);
      const { sample } = await runGuidedSampling(
        { ...run, onStep: (r) => r.repeat === (r.guided ? 1 : 0) && counts.push(tf.memory().numTensors) },
        xT,
      );
      expect(counts).toHaveLength(5);
      expect(new Set(counts).size).toBe(1);
      tf.dispose([sample, xT]);
      dispose();
    },
  );

  test('peak bytes of one guided SAG step are flat in n (within 10% from n = 1 to 6)', async () => {
    const peaks: number[] = [];
    for (const n of [1, 6]) {
      const { run, dispose } = makeRun('sag', n);
      const x = new SeededNoise(3).normal([1, 8, 8, 4]);
      const state = run.sampler.initialState();
      const measured = await measurePeakBytes(() => guidedStep(run, x, state, 1, 0, 3));
      peaks.push(measured.peakBytes);
      tf.dispose([x, measured.result.prev]);
      disposeSamplerState(measured.result.state);
      dispose();
    }
    expect(peaks[1]).toBeLessThanOrEqual(1.1 * peaks[0]);
  });
});

describe('bad input', () => {
  test('a missing model directory', async () => {
    await expect(
      Pipeline.load({
        model: path.join(models.dir, 'missing'),
        backend: testBackendName(),
        announceBackend: false,
      }),
    ).rejects.toThrow(/--model .*missing: model directory not found/);
  });

  test('an unreadable or non-image reference', async () => {
    await expect(pipeline.generate({ ...base, style: path.join(models.dir, 'nope.png') })).rejects.toThrow(
      /nope.png: image file not found/,
    );
    await expect(pipeline.generate({ ...base, style: path.join(models.sd, 'sag.json') })).rejects.toThrow(
      /sag.json: not a PNG or JPEG image/,
    );
  });

  test('a prompt over 77 tokens is truncated with a warning', async () => {
    const warnings: string[] = [];
    const r = await pipeline.generate(
      { ...base, guidance: [], style: null, window: 'none', prompt: 'very '.repeat(100), steps: 2 },
      { onWarning: (w) => warnings.push(w) },
    );
    r.images.dispose();
    expect(warnings.join('\n')).toMatch(/prompt is longer than 77 tokens: the last \d+ tokens were dropped/);
  });

  test('a NaN introduced on purpose stops the run naming the step and method', async () => {
    await expect(
      pipeline.generate({ ...base, rhoMode: 'constant', rhoScale: 1e38, rhoMax: 1e38 }),
    ).rejects.toThrow(
      /NaN or Inf in the (model output \(eps\)|sample|guidance gradient) at main step \d+ \(method sag\)/,
    );
  });
});

test('FreeDoM and UG record the one-step estimate they run (n = 1, Euler); a given n is ignored with a warning', () => {
  for (const method of ['freedom', 'ug'] as const) {
    const warnings: string[] = [];
    const o = pipeline.resolveOptions({ ...base, method, n: 4, tableau: EULER }, (m) => warnings.push(m));
    expect([o.n, o.tableau.name]).toEqual([1, 'euler']);
    expect(warnings).toEqual([`--n 4 is ignored: ${method} uses the one-step estimate (n = 1)`]);
  }
  const sag = pipeline.resolveOptions({ ...base, method: 'sag', n: 4 }, () => undefined);
  expect(sag.n).toBe(4);
});
