import { GradientMethod } from '../adjoint';
import { ButcherTableau } from '../ode/butcherTableau';
import { EstimateGridKind } from '../ode/estimateGrid';
import type { StepCount } from '../options/stepCountOption';

export const GUIDANCE_METHODS = ['sag', 'freedom', 'ug', 'none'] as const;
export type GuidanceMethod = (typeof GUIDANCE_METHODS)[number];

/**
 * FreeDoM and Universal Guidance differentiate the one-step estimate x0hat = (x_t - sqrt(1 - abar) eps) / sqrt(abar):
 * n = 1, one Euler step, whatever the estimate settings say (they are SAG's).
 */
export function usesOneStepEstimate(method: GuidanceMethod): boolean {
  return method === 'freedom' || method === 'ug';
}

export const RHO_MODES = ['rms', 'constant'] as const;
export type RhoMode = (typeof RHO_MODES)[number];

/** n for the k-th guided main step of `count` (adaptive schedules shrink n over the window). */
export type StepCountSchedule = (k: number, count: number) => number;

export interface GuidanceSettings {
  method: GuidanceMethod;
  /** n per guided step (SAG); FreeDoM always uses 1. */
  n: StepCountSchedule;
  tableau: ButcherTableau;
  grad: GradientMethod;
  grid: EstimateGridKind;
  /** Guided main-step indices, inclusive. */
  window: { start: number; end: number };
  /** Repeats (time travel) inside the window. */
  repeats: number;
  /** Step-size rule; rho never exceeds `max` (docs/ALGORITHM.md section 4). */
  rho: { mode: RhoMode; scale: number; max: number };
}

/** n for each guided step: fixed, or linear from `from` at the window's first guided step to `to` at its last. */
export function stepCountSchedule(n: StepCount): StepCountSchedule {
  if (typeof n === 'number') return () => n;
  const { from, to } = n;
  return (k, count) => (count <= 1 ? from : Math.round(from + ((to - from) * k) / (count - 1)));
}
