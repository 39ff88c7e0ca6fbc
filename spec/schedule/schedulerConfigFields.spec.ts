import * as tf from '@tensorflow/tfjs';
import { NoiseSchedule, epsFromPrediction, parseSchedulerConfig } from '../../lib/schedule';
import { createSampler, inferenceTimesteps } from '../../lib/samplers';
import { relativeL2 } from '../helpers/relativeError';
import { useTestBackend } from '../helpers/testBackend';

beforeAll(useTestBackend);

const SD = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  steps_offset: 1,
  set_alpha_to_one: false,
};

describe('scheduler_config.json fields: honoured or rejected by name', () => {
  test.each(['leading', 'linspace', 'trailing'] as const)(
    'timestep_spacing %s reaches both samplers (no spacing passed by hand)',
    (spacing) => {
      const schedule = new NoiseSchedule(parseSchedulerConfig({ ...SD, timestep_spacing: spacing }));
      for (const name of ['ddim', 'dpmpp2m'] as const)
        expect([...createSampler(name, schedule, 20).timesteps]).toEqual(
          inferenceTimesteps(spacing, 1000, 20, 1),
        );
    },
  );

  test('without timestep_spacing each sampler keeps its diffusers default (DDIM leading, DPM-Solver linspace)', () => {
    const schedule = new NoiseSchedule(parseSchedulerConfig(SD));
    expect([...createSampler('ddim', schedule, 10).timesteps]).toEqual(
      inferenceTimesteps('leading', 1000, 10, 1),
    );
    expect([...createSampler('dpmpp2m', schedule, 10).timesteps]).toEqual(
      inferenceTimesteps('linspace', 1000, 10, 1),
    );
  });

  test.each([
    ['thresholding', true, /thresholding true \(dynamic thresholding\) is not supported/],
    ['rescale_betas_zero_snr', true, /rescale_betas_zero_snr true .* is not supported/],
    ['use_dynamic_shifting', true, /use_dynamic_shifting true .* is not supported/],
    [
      'prediction_type',
      'flow',
      /prediction_type 'flow' is not supported, expected one of epsilon, v_prediction, sample/,
    ],
    ['timestep_spacing', 'karras', /timestep_spacing 'karras' is not supported/],
    ['trained_betas', [0.1, 0.2], /trained_betas is not supported/],
  ])('%s = %j is an error naming the field', (key, value, message) => {
    expect(() => parseSchedulerConfig({ ...SD, [key]: value }, 'model/scheduler')).toThrow(message);
  });

  test.each([
    ['algorithm_type', 'sde-dpmsolver++'],
    ['solver_order', 3],
    ['solver_type', 'heun'],
    ['lower_order_final', false],
    ['euler_at_final', true],
    ['use_karras_sigmas', true],
    ['use_lu_lambdas', true],
    ['variance_type', 'learned_range'],
    ['lambda_min_clipped', -5.1],
  ])('DPM-Solver setting %s = %j: the dpmpp2m sampler refuses it by name, DDIM ignores it', (key, value) => {
    const schedule = new NoiseSchedule(parseSchedulerConfig({ ...SD, [key]: value }));
    expect(() => createSampler('dpmpp2m', schedule, 10)).toThrow(
      new RegExp(`${key}.*not supported by the dpmpp2m`),
    );
    expect(() => createSampler('ddim', schedule, 10)).not.toThrow();
  });

  test("final_sigmas_type 'sigma_min' is read from the config", () => {
    const schedule = new NoiseSchedule(parseSchedulerConfig({ ...SD, final_sigmas_type: 'sigma_min' }));
    const zero = new NoiseSchedule(parseSchedulerConfig(SD));
    const last = (s: NoiseSchedule) => createSampler('dpmpp2m', s, 10).abarNext(9);
    expect(last(zero)).toBe(1);
    expect(last(schedule)).toBeCloseTo(schedule.abar(0), 12);
  });

  test("diffusers' own DPM-Solver config (with lambda_min_clipped '-inf' as Python writes it) is accepted", () => {
    const config = parseSchedulerConfig({
      ...SD,
      algorithm_type: 'dpmsolver++',
      solver_order: 2,
      solver_type: 'midpoint',
      lower_order_final: true,
      euler_at_final: false,
      use_karras_sigmas: false,
      final_sigmas_type: 'zero',
      lambda_min_clipped: '-inf',
      variance_type: null,
    });
    expect(() => createSampler('dpmpp2m', new NoiseSchedule(config), 10)).not.toThrow();
  });
});

describe('prediction types: v and x0 predictions become eps (closed form)', () => {
  const schedule = new NoiseSchedule(parseSchedulerConfig(SD));
  const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 1);
  const eps = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 2);

  test.each([1, 500, 981, 437.25, 0.5])('t = %d', (t) => {
    // x = sqrt(abar) x0 + sqrt(1 - abar) eps; diffusers' v = sqrt(abar) eps - sqrt(1 - abar) x0.
    const abar = schedule.abarAtTimestep(t);
    const x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - abar))), Math.sqrt(abar));
    const v = tf.sub(tf.mul(eps, Math.sqrt(abar)), tf.mul(x0, Math.sqrt(1 - abar)));
    expect(relativeL2(epsFromPrediction(v, x, t, schedule, 'v_prediction'), eps)).toBeLessThan(1e-5);
    expect(relativeL2(epsFromPrediction(x0, x, t, schedule, 'sample'), eps)).toBeLessThan(1e-4);
    expect(epsFromPrediction(eps, x, t, schedule, 'epsilon')).toBe(eps);
  });

  test('abar at a fractional timestep inverts timestepForSigbar, and is the table at integers', () => {
    expect(schedule.abarAtTimestep(500)).toBe(schedule.abar(500));
    for (const sigbar of [0.05, 0.7, 3, 12]) {
      const t = schedule.timestepForSigbar(sigbar);
      expect(schedule.abarAtTimestep(t)).toBeCloseTo(1 / (sigbar * sigbar + 1), 12);
    }
  });
});
