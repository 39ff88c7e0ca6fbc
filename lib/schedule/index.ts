export {
  BETA_SCHEDULES,
  SD_V1_SCHEDULER,
  parseSchedulerConfig,
  loadSchedulerConfig,
} from './schedulerConfig';
export { DEFAULT_DPM_SOLVER, PREDICTION_TYPES } from './schedulerConfig';
export type { BetaSchedule, DpmSolverSettings, PredictionType, SchedulerConfig } from './schedulerConfig';
export { epsFromPrediction } from './predictionType';
export { betasFromConfig } from './betas';
export { NoiseSchedule } from './noiseSchedule';
export type { OdePoint } from './noiseSchedule';
