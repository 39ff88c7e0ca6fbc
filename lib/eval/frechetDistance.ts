import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** The mean and covariance of a set of feature vectors (the Gaussian that the Fréchet distance compares). */
export interface FeatureStatistics {
  mean: Float64Array;
  /** d x d, row-major; unbiased (divided by count - 1), as numpy's `cov` that FID uses. */
  covariance: Float64Array;
  dimension: number;
  count: number;
}

/** Mean and covariance of `count` feature vectors of `dimension` values each, stored row by row in `rows`. */
export function featureStatistics(rows: ArrayLike<number>, dimension: number): FeatureStatistics {
  const count = rows.length / dimension;
  if (!Number.isInteger(count) || count < 2)
    throw new Error(
      `featureStatistics: expected at least 2 rows of ${dimension} values, got ${rows.length} values`,
    );
  const mean = new Float64Array(dimension);
  for (let r = 0; r < count; r++) for (let i = 0; i < dimension; i++) mean[i] += rows[r * dimension + i];
  for (let i = 0; i < dimension; i++) mean[i] /= count;
  const covariance = new Float64Array(dimension * dimension);
  const centred = new Float64Array(dimension);
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < dimension; i++) centred[i] = rows[r * dimension + i] - mean[i];
    for (let i = 0; i < dimension; i++) {
      const ci = centred[i];
      for (let j = i; j < dimension; j++) covariance[i * dimension + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dimension; i++)
    for (let j = i; j < dimension; j++) {
      const value = covariance[i * dimension + j] / (count - 1);
      covariance[i * dimension + j] = value;
      covariance[j * dimension + i] = value;
    }
  return { mean, covariance, dimension, count };
}

function toMatrix(values: Float64Array, dimension: number): Matrix {
  return Matrix.from1DArray(dimension, dimension, Array.from(values));
}

/** Eigenvalues and eigenvectors of a symmetric matrix (symmetrised first against rounding). */
function symmetricEigen(m: Matrix): { values: number[]; vectors: Matrix } {
  const symmetric = m.add(m.transpose()).mul(0.5);
  const decomposition = new EigenvalueDecomposition(symmetric, { assumeSymmetric: true });
  return { values: decomposition.realEigenvalues, vectors: decomposition.eigenvectorMatrix };
}

/** The square root of a symmetric positive semi-definite matrix (negative rounding-error eigenvalues as 0). */
function psdSquareRoot(m: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(m);
  const roots = Matrix.diag(values.map((v) => Math.sqrt(Math.max(v, 0))));
  return vectors.mmul(roots).mmul(vectors.transpose());
}

/**
 * The Fréchet (2-Wasserstein) distance between the Gaussians N(mu1, S1) and N(mu2, S2):
 * |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2), the quantity FID reports. The matrix root is
 * taken through symmetric eigendecompositions, which stay real and exact for the singular covariances of small
 * sample sets.
 */
export function frechetDistance(a: FeatureStatistics, b: FeatureStatistics): number {
  if (a.dimension !== b.dimension)
    throw new Error(`frechetDistance: feature dimensions differ (${a.dimension} vs ${b.dimension})`);
  const d = a.dimension;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;
  let traces = 0;
  for (let i = 0; i < d; i++) traces += a.covariance[i * d + i] + b.covariance[i * d + i];
  const rootA = psdSquareRoot(toMatrix(a.covariance, d));
  const product = rootA.mmul(toMatrix(b.covariance, d)).mmul(rootA);
  const crossTrace = symmetricEigen(product).values.reduce((sum, v) => sum + Math.sqrt(Math.max(v, 0)), 0);
  // Rounding can push the distance of (nearly) identical Gaussians a hair below zero.
  return Math.max(0, meanTerm + traces - 2 * crossTrace);
}
