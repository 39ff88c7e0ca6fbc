import * as tf from '@tensorflow/tfjs';
import { EstimateGradient, GRADIENT_METHODS, GradientMethod, estimateGradient } from '../adjoint';
import { SyntheticEpsNet } from '../models/syntheticEpsNet';
import { TABLEAUS, makeEstimateProblem } from '../ode';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../schedule';
import { readScalar } from '../backend/readTensor';
import { measurePeakBytes, syncOnTensor } from './peakMemory';
import { formatTextTable } from './textTable';
import { median } from './timing';

export interface AdjointBenchOptions {
  methods: GradientMethod[];
  tableaus: string[];
  ns: number[];
  /** Hidden width of the synthetic network. */
  width: number;
  /** Spatial size of the sample (square, even). */
  resolution: number;
  batch: number;
  /** Timestep at which the estimate starts. */
  timestep: number;
  seed: number;
  /** Timed repetitions; the median is reported. */
  repeats: number;
  /** Called after each row, e.g. to show progress. */
  onRow?: (row: AdjointBenchRow) => void;
}

export const DEFAULT_ADJOINT_BENCH: AdjointBenchOptions = {
  methods: [...GRADIENT_METHODS],
  tableaus: ['euler', 'heun', 'rk4'],
  ns: [1, 2, 4, 8],
  width: 32,
  resolution: 16,
  batch: 1,
  timestep: 701,
  seed: 0,
  repeats: 3,
};

export interface AdjointBenchRow {
  method: GradientMethod;
  tableau: string;
  n: number;
  /** ||grad - grad_direct|| / ||grad_direct||. */
  relErr: number;
  peakBytes: number;
  ms: number;
}

async function relativeError(got: tf.Tensor, reference: tf.Tensor): Promise<number> {
  const ratio = tf.tidy(() => tf.div(tf.norm(tf.sub(got, reference)), tf.norm(reference)));
  return readScalar(ratio).finally(() => ratio.dispose());
}

/**
 * Gradient of a loss through the n-step estimate on a synthetic eps-network, for each method x tableau x n: error
 * against direct backprop, peak tensor bytes and time. Methods are measured in the order given, direct first.
 */
export async function runAdjointBench(options: AdjointBenchOptions): Promise<AdjointBenchRow[]> {
  const net = new SyntheticEpsNet({ inChannels: 4, width: options.width, groups: 8, seed: options.seed });
  const schedule = new NoiseSchedule(SD_V1_SCHEDULER);
  const shape = [options.batch, options.resolution, options.resolution, 4];
  const xt = tf.randomNormal(shape, 0, 1, 'float32', options.seed + 1);
  const target = tf.randomNormal(shape, 0, 0.5, 'float32', options.seed + 2);
  const loss = (x0hat: tf.Tensor) =>
    tf.tidy(() => tf.mul(tf.sum(tf.square(tf.sub(x0hat, target))), 0.5) as tf.Scalar);
  const methods: GradientMethod[] = ['direct', ...options.methods.filter((m) => m !== 'direct')];
  const rows: AdjointBenchRow[] = [];
  try {
    for (const tableauName of options.tableaus) {
      const tableau = TABLEAUS[tableauName];
      if (!tableau) throw new Error(`--tableaus: unknown tableau '${tableauName}'`);
      for (const n of options.ns) {
        const problem = makeEstimateProblem(net.eps, schedule, options.timestep, { n, tableau });
        let reference: tf.Tensor | null = null;
        for (const method of methods) {
          const run = () => estimateGradient(method, problem, xt, loss);
          const measured = await measurePeakBytes(run);
          const first: EstimateGradient = measured.result;
          const times: number[] = [];
          for (let r = 0; r < options.repeats; r++) {
            const start = performance.now();
            const timed = run();
            await syncOnTensor(timed.grad);
            times.push(performance.now() - start);
            tf.dispose([timed.grad, timed.x0hat, timed.loss]);
          }
          tf.dispose([first.x0hat, first.loss]);
          if (method === 'direct') reference = first.grad;
          const relErr = method === 'direct' ? 0 : await relativeError(first.grad, reference as tf.Tensor);
          if (method !== 'direct') first.grad.dispose();
          if (!options.methods.includes(method)) continue;
          const row = {
            method,
            tableau: tableauName,
            n,
            relErr,
            peakBytes: measured.peakBytes,
            ms: median(times),
          };
          rows.push(row);
          options.onRow?.(row);
        }
        (reference as tf.Tensor | null)?.dispose();
      }
    }
  } finally {
    tf.dispose([xt, target]);
    net.dispose();
  }
  return rows;
}

/** The rows as an aligned text table. */
export function formatAdjointBenchTable(rows: AdjointBenchRow[]): string {
  const header = ['method', 'tableau', 'n', 'relErr', 'peak MB', 'ms'];
  const body = rows.map((r) => [
    r.method,
    r.tableau,
    String(r.n),
    r.relErr === 0 ? '0' : r.relErr.toExponential(2),
    (r.peakBytes / 2 ** 20).toFixed(2),
    r.ms.toFixed(1),
  ]);
  return formatTextTable(header, body, 2);
}
