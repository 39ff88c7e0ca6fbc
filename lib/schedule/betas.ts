import { SchedulerConfig } from './schedulerConfig';

/** The training betas of a diffusers scheduler config, in float64. */
export function betasFromConfig(config: SchedulerConfig): Float64Array {
  const n = config.numTrainTimesteps;
  const betas = new Float64Array(n);
  const lerp = (a: number, b: number, i: number) => a + ((b - a) * i) / (n - 1);
  switch (config.betaSchedule) {
    case 'linear':
      for (let i = 0; i < n; i++) betas[i] = lerp(config.betaStart, config.betaEnd, i);
      break;
    case 'scaled_linear':
      for (let i = 0; i < n; i++)
        betas[i] = lerp(Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd), i) ** 2;
      break;
    case 'squaredcos_cap_v2': {
      const abarCos = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      for (let i = 0; i < n; i++) betas[i] = Math.min(1 - abarCos((i + 1) / n) / abarCos(i / n), 0.999);
      break;
    }
    default:
      throw new Error(
        `unknown beta_schedule '${String((config as { betaSchedule: unknown }).betaSchedule)}'`,
      );
  }
  return betas;
}
