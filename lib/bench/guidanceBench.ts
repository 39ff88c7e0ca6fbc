import * as tf from '@tensorflow/tfjs';
import { GradientMethod } from '../adjoint';
import { GuidanceMethod } from '../guidance/guidanceSettings';
import { GenerateOptions } from '../options/generateOptions';
import { Pipeline } from '../pipeline/pipeline';
import { formatTextTable } from './textTable';
import { median } from './timing';

export interface GuidanceBenchConfig {
  method: GuidanceMethod;
  n: number;
  grad: GradientMethod;
}

export interface GuidanceBenchOptions {
  configs: GuidanceBenchConfig[];
  /** Everything else of the run: guidance kind, target/style, prompt, size, num, tableau, sampler... */
  base: Partial<GenerateOptions>;
  /** Guided steps timed per configuration, after one warm-up step. */
  steps: number;
  onRow?: (row: GuidanceBenchRow) => void;
}

export interface GuidanceBenchRow extends GuidanceBenchConfig {
  /** Medians over the timed steps. */
  modelMs: number;
  guidanceMs: number;
  stepMs: number;
  /** Peak tensor bytes of a one-step run (guided step, decode, final loss) above what was live before. */
  peakBytes: number;
}

/**
 * Cost of one guided sampling step per guidance method, n and gradient method on a loaded pipeline: the model's
 * prediction, the guidance gradient and the whole step (medians over `steps` steps after a warm-up, every step
 * guided), and the peak tensor memory of a one-step run under tf.profile (timed separately: profiling slows
 * kernels down).
 */
export async function runGuidanceBench(
  pipeline: Pipeline,
  options: GuidanceBenchOptions,
): Promise<GuidanceBenchRow[]> {
  const rows: GuidanceBenchRow[] = [];
  for (const config of options.configs) {
    const run: Partial<GenerateOptions> = {
      ...options.base,
      method: config.method,
      n: config.n,
      grad: config.grad,
      window: 'all',
      repeats: 1,
    };
    const timed = await pipeline.generate({ ...run, steps: options.steps + 1 }, { splitTiming: true });
    timed.images.dispose();
    const records = timed.records.slice(1);
    const before = tf.memory().numBytes;
    const profile = await tf.profile(async () => {
      const once = await pipeline.generate({ ...run, steps: 1 });
      once.images.dispose();
      return [];
    });
    const row: GuidanceBenchRow = {
      ...config,
      modelMs: median(records.map((r) => r.epsMs ?? NaN)),
      guidanceMs: median(records.map((r) => r.guidanceMs ?? NaN)),
      stepMs: median(records.map((r) => r.ms)),
      peakBytes: Math.max(0, Number(profile.peakBytes) - before),
    };
    rows.push(row);
    options.onRow?.(row);
  }
  return rows;
}

export function formatGuidanceBenchTable(rows: GuidanceBenchRow[]): string {
  return formatTextTable(
    ['method', 'grad', 'n', 'model ms', 'guidance ms', 'step ms', 'peak MB'],
    rows.map((r) => [
      r.method,
      r.method === 'sag' ? r.grad : '-',
      String(r.n),
      r.modelMs.toFixed(1),
      r.guidanceMs.toFixed(1),
      r.stepMs.toFixed(1),
      (r.peakBytes / 2 ** 20).toFixed(2),
    ]),
    2,
  );
}
