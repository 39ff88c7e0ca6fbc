import { GradientMethod } from '../adjoint';
import { GuidanceMethod, RhoMode, StepCount } from '../guidance/guidanceSettings';
import { EstimateGridKind } from '../ode/estimateGrid';
import { SamplerName } from '../samplers';

export const LOSS_KINDS = ['style', 'clip', 'object', 'face', 'aesthetic', 'class'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

/** Options of one generation; the CLI flags have the same names (kebab-case). */
export interface GenerateOptions {
  prompt: string;
  negativePrompt: string;
  /** Which losses guide the run (empty: unguided). */
  guidance: LossKind[];
  /** Weight of each loss in the sum (default 1). */
  lossWeights: Partial<Record<LossKind, number>>;
  method: GuidanceMethod;
  /** Estimate steps: `4`, or an adaptive schedule `{ from: 6, to: 1 }` (the CLI's `'4'` / `'6:1'` also work). */
  n: StepCount;
  tableau: string;
  grad: GradientMethod;
  grid: EstimateGridKind;
  sampler: SamplerName;
  steps: number;
  cfg: number;
  /** `start..end` main-step indices, `all` or `none`. */
  window: string;
  repeats: number;
  rhoMode: RhoMode;
  rhoScale: number;
  /**
   * Upper bound of rho. The normalised rule divides by RMS(g): when the loss is satisfied g vanishes, rho grows
   * without bound and the update becomes a full-size step along numerical noise; the cap stops that.
   */
  rhoMax: number;
  seed: number;
  num: number;
  /** [height, width] in pixels. */
  size: [number, number] | null;
  initImage: string | null;
  strength: number;
  /** Style reference image (style loss). */
  style: string | null;
  /** Reference images (object loss; the first one for face ID). */
  ref: string[];
  /** Text for the CLIP loss (default: the prompt) or class index for the classifier loss. */
  target: string | null;
  /** CLIP hidden state of the style loss. */
  styleLayer: number;
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = {
  prompt: '',
  negativePrompt: '',
  guidance: [],
  lossWeights: {},
  method: 'sag',
  n: 4,
  tableau: 'euler',
  grad: 'symplectic',
  grid: 'paper',
  sampler: 'ddim',
  steps: 50,
  cfg: 7.5,
  window: 'all',
  repeats: 1,
  rhoMode: 'rms',
  rhoScale: 0.2,
  rhoMax: 1000,
  seed: 0,
  num: 1,
  size: null,
  initImage: null,
  strength: 0.75,
  style: null,
  ref: [],
  target: null,
  styleLayer: 3,
};

/**
 * The released style setup (docs/ALGORITHM.md section 4): DPM-Solver++ 2M, T = 100, guided window 30..69 with 2 repeats,
 * n = 4 on the released code's grid, CFG 7.5.
 */
export const STYLE_PRESET: Partial<GenerateOptions> = {
  sampler: 'dpmpp2m',
  steps: 100,
  window: '30..69',
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
export function styleWindowFor(steps: number): string {
  const start = Math.min(steps - 1, Math.round((30 * steps) / 100));
  const end = Math.max(start, Math.round((70 * steps) / 100) - 1);
  return `${start}..${Math.min(end, steps - 1)}`;
}
