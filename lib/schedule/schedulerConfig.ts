import { ModelFiles, joinLocation, readJson, readOr } from '../io/modelFiles';

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

/** What the network predicts: the noise, diffusers' v = sqrt(abar) eps - sqrt(1 - abar) x0, or the clean sample. */
export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

export const TIMESTEP_SPACINGS = ['leading', 'linspace', 'trailing'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/** DPMSolverMultistepScheduler's settings; sag's dpmpp2m sampler implements the values it checks for. */
export interface DpmSolverSettings {
  algorithmType: string;
  solverOrder: number;
  solverType: string;
  lowerOrderFinal: boolean;
  eulerAtFinal: boolean;
  finalSigmasType: 'zero' | 'sigma_min';
  /** Sigma schedules other than the training table (karras, exponential, beta, lu lambdas, flow): names set true. */
  alternativeSigmas: string[];
  /** Present and not the default (-inf). */
  lambdaMinClipped: number | null;
  varianceType: string | null;
}

/** A diffusers `scheduler_config.json`, typed: the fields sag honours; the ones it cannot are rejected by name. */
export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  /** DDIM: use abar = 1 after the last step instead of abar_0. */
  setAlphaToOne: boolean;
  stepsOffset: number;
  predictionType: PredictionType;
  /** DDIM: clamp the predicted clean sample to [-clipSampleRange, clipSampleRange] (pixel models). */
  clipSample: boolean;
  clipSampleRange: number;
  /** The config's timestep_spacing; null: each sampler's diffusers default (DDIM 'leading', DPM-Solver 'linspace'). */
  timestepSpacing: TimestepSpacing | null;
  dpmSolver: DpmSolverSettings;
}

export const DEFAULT_DPM_SOLVER: DpmSolverSettings = {
  algorithmType: 'dpmsolver++',
  solverOrder: 2,
  solverType: 'midpoint',
  lowerOrderFinal: true,
  eulerAtFinal: false,
  finalSigmasType: 'zero',
  alternativeSigmas: [],
  lambdaMinClipped: null,
  varianceType: null,
};

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
  timestepSpacing: null,
  dpmSolver: DEFAULT_DPM_SOLVER,
};

function field<T>(raw: Record<string, unknown>, key: string, fallback: T, source: string, kind: string): T {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== kind) throw new Error(`${source}: '${key}' must be a ${kind}, got ${JSON.stringify(v)}`);
  return v as T;
}

function oneOf<T extends string>(
  raw: Record<string, unknown>,
  key: string,
  choices: readonly T[],
  fallback: T | null,
  source: string,
): T | null {
  const v = field<string | null>(raw, key, fallback, source, 'string');
  if (v !== null && !(choices as readonly string[]).includes(v))
    throw new Error(`${source}: ${key} '${v}' is not supported, expected one of ${choices.join(', ')}`);
  return v as T | null;
}

/** Fields that change the math everywhere and that sag does not implement: rejected unless at their default. */
const UNSUPPORTED_FLAGS: [key: string, what: string][] = [
  ['thresholding', 'dynamic thresholding'],
  ['rescale_betas_zero_snr', 'zero-terminal-SNR rescaling of the betas'],
  ['use_dynamic_shifting', 'resolution-dependent timestep shifting'],
];

const ALTERNATIVE_SIGMA_FLAGS = [
  'use_karras_sigmas',
  'use_exponential_sigmas',
  'use_beta_sigmas',
  'use_lu_lambdas',
  'use_flow_sigmas',
];

function parseDpmSolver(obj: Record<string, unknown>, source: string): DpmSolverSettings {
  const lambda = obj.lambda_min_clipped;
  const finalSigmas = oneOf(obj, 'final_sigmas_type', ['zero', 'sigma_min'] as const, 'zero', source);
  return {
    algorithmType: field(obj, 'algorithm_type', DEFAULT_DPM_SOLVER.algorithmType, source, 'string'),
    solverOrder: field(obj, 'solver_order', DEFAULT_DPM_SOLVER.solverOrder, source, 'number'),
    solverType: field(obj, 'solver_type', DEFAULT_DPM_SOLVER.solverType, source, 'string'),
    lowerOrderFinal: field(obj, 'lower_order_final', true, source, 'boolean'),
    eulerAtFinal: field(obj, 'euler_at_final', false, source, 'boolean'),
    finalSigmasType: finalSigmas ?? 'zero',
    alternativeSigmas: ALTERNATIVE_SIGMA_FLAGS.filter((key) => field(obj, key, false, source, 'boolean')),
    // Python writes -inf as the string '-inf' (or the non-JSON -Infinity, which JSON.parse rejects earlier).
    lambdaMinClipped: typeof lambda === 'number' && Number.isFinite(lambda) ? lambda : null,
    varianceType: field<string | null>(obj, 'variance_type', null, source, 'string'),
  };
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
  for (const [key, what] of UNSUPPORTED_FLAGS) {
    if (field(obj, key, false, source, 'boolean'))
      throw new Error(`${source}: ${key} true (${what}) is not supported, expected false`);
  }
  const config: SchedulerConfig = {
    numTrainTimesteps: field(obj, 'num_train_timesteps', 1000, source, 'number'),
    betaStart: field(obj, 'beta_start', 0.0001, source, 'number'),
    betaEnd: field(obj, 'beta_end', 0.02, source, 'number'),
    betaSchedule: betaSchedule as BetaSchedule,
    setAlphaToOne: field(obj, 'set_alpha_to_one', true, source, 'boolean'),
    stepsOffset: field(obj, 'steps_offset', 0, source, 'number'),
    predictionType: oneOf(obj, 'prediction_type', PREDICTION_TYPES, 'epsilon', source) ?? 'epsilon',
    clipSample: field(obj, 'clip_sample', false, source, 'boolean'),
    clipSampleRange: field(obj, 'clip_sample_range', 1, source, 'number'),
    timestepSpacing: oneOf(obj, 'timestep_spacing', TIMESTEP_SPACINGS, null, source),
    dpmSolver: parseDpmSolver(obj, source),
  };
  if (!Number.isInteger(config.numTrainTimesteps) || config.numTrainTimesteps < 2) {
    throw new Error(
      `${source}: num_train_timesteps must be an integer >= 2, got ${config.numTrainTimesteps}`,
    );
  }
  if (!Number.isInteger(config.stepsOffset) || config.stepsOffset < 0) {
    throw new Error(`${source}: steps_offset must be a non-negative integer, got ${config.stepsOffset}`);
  }
  if (!(config.betaStart > 0 && config.betaEnd > 0 && config.betaStart < 1 && config.betaEnd < 1)) {
    throw new Error(`${source}: beta_start and beta_end must lie in (0, 1)`);
  }
  return config;
}
/** Reads `scheduler_config.json` of model files (a directory or a URL). */
export async function loadSchedulerConfig(files: ModelFiles): Promise<SchedulerConfig> {
  const name = 'scheduler_config.json';
  const raw = await readOr(files, name, () => readJson(files, name), 'scheduler config not found');
  return parseSchedulerConfig(raw, joinLocation(files.location, name));
}
