import { GradientMethod } from '../adjoint';
import { ButcherTableau } from '../ode/butcherTableau';
import { EstimateGridKind } from '../ode/estimateGrid';

export const GUIDANCE_METHODS = ['sag', 'freedom', 'ug', 'none'] as const;
export type GuidanceMethod = (typeof GUIDANCE_METHODS)[number];

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

export function parseGuidanceMethod(value: string): GuidanceMethod {
  if ((GUIDANCE_METHODS as readonly string[]).includes(value)) return value as GuidanceMethod;
  throw new Error(`--method: expected one of ${GUIDANCE_METHODS.join(', ')}, got '${value}'`);
}

/** n as the library takes it: `4`, `{ from: 6, to: 1 }`, or the CLI's text `'4'` / `'6:1'`. */
export type StepCount = number | string | { from: number; to: number };

/** `4` (fixed) or `6:1` (linear from 6 at the window's first guided step to 1 at its last). */
export function parseStepCountSchedule(n: StepCount): StepCountSchedule {
  const value = typeof n === 'object' ? `${n.from}:${n.to}` : String(n);
  const parts = value.split(':').map((s) => Number(s.trim()));
  if (parts.length > 2 || parts.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new Error(`--n: expected an integer >= 1 or 'from:to' (e.g. 6:1), got '${value}'`);
  }
  if (parts.length === 1) return () => parts[0];
  const [from, to] = parts;
  return (k, count) => (count <= 1 ? from : Math.round(from + ((to - from) * k) / (count - 1)));
}

/** `30..69`, `30:69`, `all` or `none`, for T main steps. */
export function parseWindow(value: string, steps: number): { start: number; end: number } {
  if (value === 'all') return { start: 0, end: steps - 1 };
  if (value === 'none') return { start: 1, end: 0 };
  const m = /^(\d+)\s*(?:\.\.|:|-)\s*(\d+)$/.exec(value.trim());
  if (!m)
    throw new Error(`--window: expected 'start..end' (main-step indices), 'all' or 'none', got '${value}'`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (start > end)
    throw new Error(`--window: ${value} is reversed (expected start <= end, e.g. ${end}..${start})`);
  if (end >= steps) throw new Error(`--window: ${value} is not inside main steps 0..${steps - 1}`);
  return { start, end };
}
