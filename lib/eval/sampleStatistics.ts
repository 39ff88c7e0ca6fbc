import { seededRandom } from '../seededRandom';

/** A mean with a bootstrap confidence interval. */
export interface MeanWithInterval {
  mean: number;
  /** The central interval of the bootstrap distribution of the mean (95 % by default). */
  low: number;
  high: number;
  count: number;
}

/** The mean of `values`, with a percentile bootstrap interval from `resamples` seeded resamples. */
export function bootstrapMean(
  values: number[],
  options: { level?: number; resamples?: number; seed?: number } = {},
): MeanWithInterval {
  const { level = 0.95, resamples = 2000, seed = 1 } = options;
  const n = values.length;
  if (n === 0) throw new Error('bootstrapMean: no values');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const random = seededRandom(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(random() * n)];
    means[r] = sum / n;
  }
  return { mean, ...centralInterval(means, level), count: n };
}

/** Per row of two [rows, columns] arrays (row-major): ||a - b|| / ||b||. */
export function rowRelativeErrors(a: ArrayLike<number>, b: ArrayLike<number>, rows: number): number[] {
  return perRow(a, b, rows, (x, y) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < x.length; i++) {
      num += (x[i] - y[i]) ** 2;
      den += y[i] ** 2;
    }
    return Math.sqrt(num / Math.max(den, 1e-30));
  });
}

/** Per row of two [rows, columns] arrays: the cosine of the angle between them (0 when either is zero). */
export function rowCosines(a: ArrayLike<number>, b: ArrayLike<number>, rows: number): number[] {
  return perRow(a, b, rows, (x, y) => {
    let dot = 0;
    let xx = 0;
    let yy = 0;
    for (let i = 0; i < x.length; i++) {
      dot += x[i] * y[i];
      xx += x[i] ** 2;
      yy += y[i] ** 2;
    }
    return xx > 0 && yy > 0 ? dot / Math.sqrt(xx * yy) : 0;
  });
}

function perRow(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  rows: number,
  f: (x: ArrayLike<number>, y: ArrayLike<number>) => number,
): number[] {
  if (a.length !== b.length || a.length % rows !== 0)
    throw new Error(
      `per-row metric: ${a.length} and ${b.length} values do not split into ${rows} equal rows`,
    );
  const width = a.length / rows;
  const slice = (v: ArrayLike<number>, r: number) =>
    Array.prototype.slice.call(v, r * width, (r + 1) * width);
  return Array.from({ length: rows }, (_, r) => f(slice(a, r), slice(b, r)));
}

/**
 * The mean of all values of `groups` (e.g. the images of each seed), with a two-stage percentile bootstrap
 * interval: each resample draws groups with replacement, then values within each drawn group with replacement, so
 * that the interval covers the variation between seeds as well as between the images of one seed.
 */
export function clusteredBootstrapMean(
  groups: number[][],
  options: { level?: number; resamples?: number; seed?: number } = {},
): MeanWithInterval {
  const nonEmpty = groups.filter((g) => g.length > 0);
  if (nonEmpty.length === 0) throw new Error('clusteredBootstrapMean: no values');
  if (nonEmpty.length === 1) return bootstrapMean(nonEmpty[0], options);
  const { level = 0.95, resamples = 2000, seed = 1 } = options;
  const all = nonEmpty.flat();
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const random = seededRandom(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    let count = 0;
    for (let k = 0; k < nonEmpty.length; k++) {
      const group = nonEmpty[Math.floor(random() * nonEmpty.length)];
      for (let i = 0; i < group.length; i++) sum += group[Math.floor(random() * group.length)];
      count += group.length;
    }
    means[r] = sum / count;
  }
  return { mean, ...centralInterval(means, level), count: all.length };
}

/** The central `level` interval of bootstrap means (sorted in place). */
function centralInterval(means: Float64Array, level: number): { low: number; high: number } {
  means.sort();
  const tail = (1 - level) / 2;
  const at = (q: number) => means[Math.min(means.length - 1, Math.max(0, Math.floor(q * means.length)))];
  return { low: at(tail), high: at(1 - tail) };
}
