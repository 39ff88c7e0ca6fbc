import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NoiseSchedule, SD_V1_SCHEDULER, betasFromConfig, parseSchedulerConfig } from '../../lib/schedule';
import { readSchedulerConfig } from '../../lib/schedule/schedulerConfigFile';
import { inferenceTimesteps, roundHalfEven } from '../../lib/samplers';
import { repoFixtureDir } from '../helpers/fixtures';

describe('noise schedule', () => {
  test('scaled_linear betas follow SD v1', () => {
    const betas = betasFromConfig(SD_V1_SCHEDULER);
    expect(betas[0]).toBeCloseTo(0.00085, 12);
    expect(betas[999]).toBeCloseTo(0.012, 12);
    expect(betas[500]).toBeCloseTo(
      (Math.sqrt(0.00085) + (500 / 999) * (Math.sqrt(0.012) - Math.sqrt(0.00085))) ** 2,
      12,
    );
  });

  test('linear betas', () => {
    const betas = betasFromConfig({
      ...SD_V1_SCHEDULER,
      betaSchedule: 'linear',
      betaStart: 0.0001,
      betaEnd: 0.02,
    });
    expect(betas[0]).toBeCloseTo(0.0001, 12);
    expect(betas[999]).toBeCloseTo(0.02, 12);
  });

  test('fractional timesteps invert sigbar exactly on the table and monotonically between', () => {
    const s = new NoiseSchedule(SD_V1_SCHEDULER);
    for (const t of [0, 1, 250, 701, 999]) expect(s.timestepForSigbar(s.sigbar(t))).toBeCloseTo(t, 8);
    const mid = s.timestepForSigbar(Math.sqrt(s.sigbar(400) * s.sigbar(401)));
    expect(mid).toBeCloseTo(400.5, 2);
    expect(s.timestepForSigbar(0)).toBe(0);
    expect(s.pointAtSigbar(0)).toEqual(NoiseSchedule.CLEAN);
  });

  test('reads the fixture checkpoint scheduler config', () => {
    const config = readSchedulerConfig(path.join(repoFixtureDir(), 'sd-tiny', 'scheduler'));
    expect(config.betaSchedule).toBe('scaled_linear');
    expect(config.stepsOffset).toBe(1);
  });

  test('timestep spacings match diffusers (numpy rounding)', () => {
    expect(roundHalfEven(350.5)).toBe(350);
    expect(roundHalfEven(351.5)).toBe(352);
    expect(inferenceTimesteps('leading', 1000, 4, 1)).toEqual([751, 501, 251, 1]);
    expect(inferenceTimesteps('linspace', 1000, 4, 0)).toEqual([999, 749, 500, 250]);
    expect(inferenceTimesteps('trailing', 1000, 4, 0)).toEqual([999, 749, 499, 249]);
  });
});

describe('bad scheduler input', () => {
  test('unknown beta_schedule names the value and the choices', () => {
    expect(() => parseSchedulerConfig({ beta_schedule: 'cosine' }, 'x.json')).toThrow(
      "x.json: unknown beta_schedule 'cosine', expected one of linear, scaled_linear, squaredcos_cap_v2",
    );
  });

  test('unsupported prediction type and wrong field types', () => {
    expect(() => parseSchedulerConfig({ prediction_type: 'flow_prediction' }, 'x.json')).toThrow(
      /prediction_type 'flow_prediction'/,
    );
    expect(() => parseSchedulerConfig({ beta_start: '0.1' }, 'x.json')).toThrow(
      /'beta_start' must be a number/,
    );
    expect(() => parseSchedulerConfig([], 'x.json')).toThrow(/expected a JSON object/);
  });

  test('a missing or malformed scheduler config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-sched-'));
    expect(() => readSchedulerConfig(dir)).toThrow(
      `${dir}/scheduler_config.json: scheduler config not found`,
    );
    fs.writeFileSync(path.join(dir, 'scheduler_config.json'), '{ not json');
    expect(() => readSchedulerConfig(dir)).toThrow(/not valid JSON/);
    fs.rmSync(dir, { recursive: true });
  });

  test('steps out of range', () => {
    expect(() => inferenceTimesteps('leading', 1000, 0, 1)).toThrow(
      /steps must be an integer in \[1, 1000\]/,
    );
  });
});
