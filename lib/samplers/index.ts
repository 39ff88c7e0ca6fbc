import { InvalidOptionError } from '../options/invalidOption';
import { NoiseSchedule } from '../schedule/noiseSchedule';
import { DdimSampler } from './ddim';
import { DpmSolverPP2MSampler } from './dpmSolverPP2M';
import { MainSampler } from './mainSampler';
import { TimestepSpacing } from './timestepSpacing';

export { DdimSampler } from './ddim';
export { DpmSolverPP2MSampler } from './dpmSolverPP2M';
export { disposeSamplerState, predictX0 } from './mainSampler';
export type { MainSampler, SamplerState, SamplerStepResult } from './mainSampler';
export { TIMESTEP_SPACINGS, inferenceTimesteps, numpyLinspace, roundHalfEven } from './timestepSpacing';
export type { TimestepSpacing } from './timestepSpacing';

export const SAMPLER_NAMES = ['ddim', 'dpmpp2m'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

export function createSampler(
  name: SamplerName,
  schedule: NoiseSchedule,
  steps: number,
  options: { spacing?: TimestepSpacing; finalSigmas?: 'zero' | 'sigma_min' } = {},
): MainSampler {
  switch (name) {
    case 'ddim':
      return new DdimSampler(schedule, steps, options.spacing);
    case 'dpmpp2m':
      return new DpmSolverPP2MSampler(schedule, steps, options.spacing, options.finalSigmas);
    default:
      throw new InvalidOptionError(
        'sampler',
        `expected one of ${SAMPLER_NAMES.join(', ')}, got '${String(name)}'`,
      );
  }
}
