import * as tf from '@tensorflow/tfjs';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { NoiseSchedule, parseSchedulerConfig } from '../../lib/schedule';
import { SamplerName, createSampler, disposeSamplerState } from '../../lib/samplers';
import { useTestBackend } from '../helpers/testBackend';
import { casePath, casesOf } from '../helpers/fixtures';
import { relativeL2 } from '../helpers/relativeError';

const SAMPLER_FOR_CASE: Record<string, SamplerName> = {
  scheduler_ddim: 'ddim',
  scheduler_dpmpp_2m: 'dpmpp2m',
};

beforeAll(useTestBackend);

const cases = casesOf('scheduler');

test('the manifest lists scheduler cases', () => {
  expect(cases.length).toBeGreaterThan(0);
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (name, fixture) => {
  const prefix = Object.keys(SAMPLER_FOR_CASE).find((p) => name.startsWith(p));
  const samplerName = prefix ? SAMPLER_FOR_CASE[prefix] : null;
  const config = fixture.config as Record<string, unknown>;

  test('is a known sampler', () => expect(samplerName).not.toBeNull());

  test('alphas_cumprod, timesteps and trajectory match diffusers', () => {
    const file = SafetensorsFile.open(casePath(fixture.tensors));
    try {
      const schedule = new NoiseSchedule(parseSchedulerConfig(config, name));
      expect(relativeL2(schedule.alphasCumprod, file.readFloat32('alphas_cumprod'))).toBeLessThan(1e-6);
      const steps = fixture.steps as number;
      // The product's path: spacing and final sigmas come from the config itself.
      const sampler = createSampler(samplerName as SamplerName, schedule, steps);
      expect([...sampler.timesteps]).toEqual([...file.readInt32('timesteps')]);

      const trajectory = file.readFloat32('trajectory');
      const shape = file.entry('trajectory').shape.slice(1);
      const size = shape.reduce((a, b) => a * b, 1);
      let x = tf.tensor(trajectory.subarray(0, size), shape);
      let state = sampler.initialState();
      const before = tf.memory().numTensors;
      for (let i = 0; i < steps; i++) {
        const t = sampler.timesteps[i];
        const eps = tf.tidy(() => tf.tanh(tf.add(tf.mul(x, 0.5), t / 1000)));
        const result = sampler.step(eps, i, x, state);
        eps.dispose();
        x.dispose();
        disposeSamplerState(state);
        x = result.prevSample;
        state = result.state;
        const expected = trajectory.subarray((i + 1) * size, (i + 2) * size);
        expect(relativeL2(x, expected)).toBeLessThan(1e-5);
      }
      disposeSamplerState(state);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
      x.dispose();
    } finally {
      file.close();
    }
  });
});
