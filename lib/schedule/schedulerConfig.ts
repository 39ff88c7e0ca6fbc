import * as fs from 'fs';

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

/** The fields of a diffusers `scheduler_config.json` that this project reads. */
export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  /** DDIM: use abar = 1 after the last step instead of abar_0. */
  setAlphaToOne: boolean;
  stepsOffset: number;
  predictionType: 'epsilon';
  /** DDIM: clamp the predicted clean sample to [-clipSampleRange, clipSampleRange] (pixel models). */
  clipSample: boolean;
  clipSampleRange: number;
}

export const SD_V1_SCHEDULER: SchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  setAlphaToOne: false,
  stepsOffset: 1,
  predictionType: 'epsilon',
  clipSample: false,
  clipSampleRange: 1,
};

function field<T>(raw: Record<string, unknown>, key: string, fallback: T, source: string, kind: string): T {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== kind) throw new Error(`${source}: '${key}' must be a ${kind}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** Validates a parsed diffusers scheduler config; `source` names it in error messages. */
export function parseSchedulerConfig(raw: unknown, source = 'scheduler config'): SchedulerConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${source}: expected a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  const betaSchedule = field(obj, 'beta_schedule', 'linear', source, 'string');
  if (!(BETA_SCHEDULES as readonly string[]).includes(betaSchedule)) {
    throw new Error(
      `${source}: unknown beta_schedule '${betaSchedule}', expected one of ${BETA_SCHEDULES.join(', ')}`,
    );
  }
  if (obj.trained_betas !== undefined && obj.trained_betas !== null) {
    throw new Error(`${source}: trained_betas is not supported, expected null`);
  }
  const predictionType = field(obj, 'prediction_type', 'epsilon', source, 'string');
  if (predictionType !== 'epsilon') {
    throw new Error(`${source}: prediction_type '${predictionType}' is not supported, expected 'epsilon'`);
  }
  const config: SchedulerConfig = {
    numTrainTimesteps: field(obj, 'num_train_timesteps', 1000, source, 'number'),
    betaStart: field(obj, 'beta_start', 0.0001, source, 'number'),
    betaEnd: field(obj, 'beta_end', 0.02, source, 'number'),
    betaSchedule: betaSchedule as BetaSchedule,
    setAlphaToOne: field(obj, 'set_alpha_to_one', true, source, 'boolean'),
    stepsOffset: field(obj, 'steps_offset', 0, source, 'number'),
    predictionType: 'epsilon',
    clipSample: field(obj, 'clip_sample', false, source, 'boolean'),
    clipSampleRange: field(obj, 'clip_sample_range', 1, source, 'number'),
  };
  if (!Number.isInteger(config.numTrainTimesteps) || config.numTrainTimesteps < 2) {
    throw new Error(
      `${source}: num_train_timesteps must be an integer >= 2, got ${config.numTrainTimesteps}`,
    );
  }
  if (!(config.betaStart > 0 && config.betaEnd > 0 && config.betaStart < 1 && config.betaEnd < 1)) {
    throw new Error(`${source}: beta_start and beta_end must lie in (0, 1)`);
  }
  return config;
}

/** Reads `scheduler_config.json` (a file, or a directory containing one). */
export function readSchedulerConfig(path: string): SchedulerConfig {
  let file = path;
  if (fs.existsSync(path) && fs.statSync(path).isDirectory()) file = `${path}/scheduler_config.json`;
  if (!fs.existsSync(file)) throw new Error(`${file}: scheduler config not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseSchedulerConfig(raw, file);
}
