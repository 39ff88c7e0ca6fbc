import * as tf from '@tensorflow/tfjs';
import { NoiseSchedule, OdePoint } from '../schedule/noiseSchedule';
import { ButcherTableau } from './butcherTableau';
import { EpsFunction } from './epsFunction';
import { EstimateGridKind, paperGrid, releasedGrid } from './estimateGrid';
import { EULER } from './tableaus';

/**
 * The n-step clean estimate as an ODE problem in xbar = x / sqrt(abar):
 * d xbar / d sigbar = f(xbar, sigbar) = eps(xbar * sqrt(abar(sigbar)), t(sigbar)), solved over `grid`.
 */
export interface EstimateProblem {
  readonly eps: EpsFunction;
  readonly schedule: NoiseSchedule;
  /** Grid points; grid[0] is the current timestep, steps = grid.length - 1. */
  readonly grid: readonly OdePoint[];
  readonly tableau: ButcherTableau;
}

export interface EstimateProblemOptions {
  n: number;
  tableau?: ButcherTableau;
  grid?: EstimateGridKind;
  /** Remaining main-sampler timesteps (from the current one); needed by the 'released' grid. */
  remainingTimesteps?: readonly number[];
}

export function makeEstimateProblem(
  eps: EpsFunction,
  schedule: NoiseSchedule,
  t: number,
  options: EstimateProblemOptions,
): EstimateProblem {
  const kind = options.grid ?? 'paper';
  let grid: OdePoint[];
  if (kind === 'released') {
    if (!options.remainingTimesteps)
      throw new Error("the 'released' estimate grid needs the remaining main timesteps");
    if (options.remainingTimesteps[0] !== t)
      throw new Error('released grid: remaining timesteps must start at t');
    grid = releasedGrid(schedule, options.remainingTimesteps, options.n);
  } else {
    grid = paperGrid(schedule, t, options.n);
  }
  return { eps, schedule, grid, tableau: options.tableau ?? EULER };
}

export function stepCount(problem: EstimateProblem): number {
  return problem.grid.length - 1;
}

/** h_i = sigbar_{i+1} - sigbar_i (negative: the estimate runs towards the clean end). */
export function stepSize(problem: EstimateProblem, i: number): number {
  return problem.grid[i + 1].sigbar - problem.grid[i].sigbar;
}

/** The ODE point of stage j of step i, at sigbar_i + c_j h (exact grid points for c = 0 and c = 1). */
export function stagePoint(problem: EstimateProblem, i: number, j: number, direction: 1 | -1 = 1): OdePoint {
  const c = problem.tableau.c[j];
  const [from, to] =
    direction === 1 ? [problem.grid[i], problem.grid[i + 1]] : [problem.grid[i + 1], problem.grid[i]];
  if (c === 0) return from;
  if (c === 1) return to;
  return problem.schedule.pointAtSigbar(from.sigbar + c * (to.sigbar - from.sigbar));
}

/** f(xbar, point) = eps(xbar * sqrt(abar), t). Caller owns the result. */
export function odeDerivative(problem: EstimateProblem, xbar: tf.Tensor, point: OdePoint): tf.Tensor {
  return tf.tidy(() => problem.eps(tf.mul(xbar, Math.sqrt(point.abar)), point.timestep));
}

/** x in sampler space -> xbar at grid[0]. */
export function toXbar(problem: EstimateProblem, x: tf.Tensor): tf.Tensor {
  return tf.div(x, Math.sqrt(problem.grid[0].abar));
}

/** xbar at the last grid point -> the estimate in sampler space (identity at the clean end). */
export function fromXbarAtEnd(problem: EstimateProblem, xbar: tf.Tensor): tf.Tensor {
  return tf.mul(xbar, Math.sqrt(problem.grid[problem.grid.length - 1].abar));
}
