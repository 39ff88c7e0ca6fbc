import { FeatureStatistics, featureStatistics, frechetDistance } from '../../lib/eval/frechetDistance';
import { seededRandom } from '../../lib/seededRandom';

function gaussianRandom(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A random rotation of R^d (Gram-Schmidt on a seeded Gaussian matrix), row-major. */
function rotation(d: number, seed: number): number[][] {
  const normal = gaussianRandom(seededRandom(seed));
  const rows: number[][] = [];
  for (let i = 0; i < d; i++) {
    let v = Array.from({ length: d }, normal);
    for (const u of rows) {
      const dot = v.reduce((s, x, k) => s + x * u[k], 0);
      v = v.map((x, k) => x - dot * u[k]);
    }
    const norm = Math.hypot(...v);
    rows.push(v.map((x) => x / norm));
  }
  return rows;
}

/** Statistics of N(mean, Q diag(variances) Q^T). */
function gaussian(mean: number[], variances: number[], q: number[][]): FeatureStatistics {
  const d = mean.length;
  const covariance = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++)
      covariance[i * d + j] = variances.reduce((s, v, k) => s + q[k][i] * v * q[k][j], 0);
  return { mean: Float64Array.from(mean), covariance, dimension: d, count: Infinity };
}

/** The closed form for covariances with the same eigenvectors: |dmu|^2 + sum (sqrt a - sqrt b)^2. */
function commutingClosedForm(mu1: number[], a: number[], mu2: number[], b: number[]): number {
  const means = mu1.reduce((s, m, i) => s + (m - mu2[i]) ** 2, 0);
  return means + a.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(b[i])) ** 2, 0);
}

const identity = (d: number) =>
  Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => +(i === j)));

test('Fréchet distance of Gaussians equals the closed form (diagonal, and rotated with shared eigenvectors)', () => {
  const mu1 = [0.5, -1, 2, 0, 0.25, 1];
  const mu2 = [0, 1, 2.5, -0.5, 0, 1];
  const a = [1, 4, 0.25, 2, 9, 0.5];
  const b = [2, 1, 1, 0.5, 4, 0.5];
  const expected = commutingClosedForm(mu1, a, mu2, b);
  expect(frechetDistance(gaussian(mu1, a, identity(6)), gaussian(mu2, b, identity(6)))).toBeCloseTo(
    expected,
    9,
  );
  const q = rotation(6, 11);
  expect(frechetDistance(gaussian(mu1, a, q), gaussian(mu2, b, q))).toBeCloseTo(expected, 9);
  // Singular covariances (fewer samples than dimensions give these): exact up to the square roots of the
  // rounding errors in the zero eigenvalues (~1e-16 -> 1e-8).
  const singular = [3, 0, 0, 1, 0, 2];
  expect(frechetDistance(gaussian(mu1, singular, q), gaussian(mu2, b, q))).toBeCloseTo(
    commutingClosedForm(mu1, singular, mu2, b),
    6,
  );
  expect(frechetDistance(gaussian(mu1, a, q), gaussian(mu1, a, q))).toBeCloseTo(0, 9);
});

test('Fréchet distance: symmetric for covariances that do not commute; one dimension is |dmu|^2 + (s1 - s2)^2', () => {
  const p = gaussian([1, 2, 3, 4], [1, 2, 3, 4], rotation(4, 5));
  const r = gaussian([0, 2, 1, 4], [4, 0.5, 1, 2], rotation(4, 6));
  expect(frechetDistance(p, r)).toBeGreaterThan(0);
  expect(frechetDistance(p, r)).toBeCloseTo(frechetDistance(r, p), 9);
  const one = (m: number, s: number) => gaussian([m], [s * s], [[1]]);
  expect(frechetDistance(one(1, 2), one(-1, 0.5))).toBeCloseTo(4 + 1.5 ** 2, 12);
  expect(() => frechetDistance(p, one(0, 1))).toThrow('feature dimensions differ (4 vs 1)');
});

test('feature statistics of samples from a known Gaussian estimate its mean, covariance and distance', () => {
  const d = 3;
  const q = rotation(d, 2);
  const variances = [4, 1, 0.25];
  const mean = [1, -2, 0.5];
  const truth = gaussian(mean, variances, q);
  const normal = gaussianRandom(seededRandom(9));
  const count = 20000;
  const rows = new Float32Array(count * d);
  for (let r = 0; r < count; r++) {
    const z = variances.map((v) => Math.sqrt(v) * normal());
    for (let i = 0; i < d; i++) rows[r * d + i] = mean[i] + z.reduce((s, zk, k) => s + q[k][i] * zk, 0);
  }
  const estimated = featureStatistics(rows, d);
  expect(estimated.count).toBe(count);
  for (let i = 0; i < d; i++) expect(estimated.mean[i]).toBeCloseTo(mean[i], 1);
  for (let i = 0; i < d * d; i++)
    expect(Math.abs(estimated.covariance[i] - truth.covariance[i])).toBeLessThan(0.15);
  const other = gaussian([0, 0, 0], [1, 1, 1], identity(d));
  expect(frechetDistance(estimated, other)).toBeCloseTo(frechetDistance(truth, other), 0);
  expect(frechetDistance(estimated, truth)).toBeLessThan(0.01);
  expect(() => featureStatistics([1, 2, 3], 3)).toThrow('at least 2 rows of 3 values');
});
