export {
  BETA_SCHEDULES,
  SD_V1_SCHEDULER,
  parseSchedulerConfig,
  readSchedulerConfig,
} from './schedulerConfig';
export type { BetaSchedule, SchedulerConfig } from './schedulerConfig';
export { betasFromConfig } from './betas';
export { NoiseSchedule } from './noiseSchedule';
export type { OdePoint } from './noiseSchedule';
