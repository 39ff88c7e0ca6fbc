import { GenerateOptions } from './generateOptions';
import { GuidanceWindow } from './windowOption';

/**
 * The released style setup (docs/ALGORITHM.md section 4): DPM-Solver++ 2M, T = 100, guided window 30..69 with 2
 * repeats, n = 4 on the released code's grid, CFG 7.5.
 */
export const STYLE_PRESET: Partial<GenerateOptions> = {
  sampler: 'dpmpp2m',
  steps: 100,
  window: { start: 30, end: 69 },
  repeats: 2,
  n: 4,
  grid: 'released',
  cfg: 7.5,
  guidance: ['style'],
};

/**
 * The style preset's window for `steps` main steps: the released 30..69 of 100 (guidance over the 30 % to 70 % of
 * the schedule), scaled. At 100 steps it is exactly 30..69.
 */
export function styleWindowFor(steps: number): GuidanceWindow {
  const start = Math.min(steps - 1, Math.round((30 * steps) / 100));
  const end = Math.max(start, Math.round((70 * steps) / 100) - 1);
  return { start, end: Math.min(end, steps - 1) };
}
