import { InvalidOptionError } from '../options/invalidOption';
import { NoiseSchedule, OdePoint } from '../schedule/noiseSchedule';
import { roundHalfEven } from '../samplers/timestepSpacing';

export const ESTIMATE_GRIDS = ['paper', 'released'] as const;
export type EstimateGridKind = (typeof ESTIMATE_GRIDS)[number];

export function assertStepCount(n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidOptionError('n', `the number of estimate steps must be an integer >= 1, got ${n}`);
}

/**
 * The paper's grid (docs/ALGORITHM.md section 2): s_i = round(t (1 - i/n)) for i < n, then the clean end. n + 1 points,
 * n solver steps.
 */
export function paperGrid(schedule: NoiseSchedule, t: number, n: number): OdePoint[] {
  assertStepCount(n);
  const points: OdePoint[] = [];
  for (let i = 0; i < n; i++) points.push(schedule.point(roundHalfEven(t * (1 - i / n))));
  points.push(NoiseSchedule.CLEAN);
  return points;
}

/**
 * The released code's grid: n points taken from the remaining main-schedule timesteps (indices
 * floor(linspace(0, len - 1, n)), starting at the current one), n - 1 steps, ending at the last main timestep.
 */
export function releasedGrid(
  schedule: NoiseSchedule,
  remainingTimesteps: readonly number[],
  n: number,
): OdePoint[] {
  assertStepCount(n);
  if (remainingTimesteps.length === 0) throw new Error('released grid: no remaining main timesteps');
  const last = remainingTimesteps.length - 1;
  const points: OdePoint[] = [];
  for (let i = 0; i < n; i++) {
    const index = n === 1 ? 0 : Math.floor((i * last) / (n - 1));
    points.push(schedule.point(remainingTimesteps[index]));
  }
  return points;
}
