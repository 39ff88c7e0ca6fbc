import {
  bootstrapMean,
  clusteredBootstrapMean,
  rowCosines,
  rowRelativeErrors,
} from '../../lib/eval/sampleStatistics';

test('per-row cosines and relative errors against closed forms', () => {
  const a = [1, 0, 3, 4, 2, 2];
  const b = [0, 1, 3, 4, -2, -2];
  expect(rowCosines(a, b, 3)).toEqual([0, 1, -1]);
  const errors = rowRelativeErrors(a, b, 3);
  expect(errors[0]).toBeCloseTo(Math.SQRT2, 12);
  expect(errors[1]).toBe(0);
  expect(errors[2]).toBeCloseTo(2, 12);
  expect(() => rowCosines([1, 2, 3], [1, 2, 3], 2)).toThrow('do not split into 2 equal rows');
});

test('bootstrap interval: contains the mean, narrows with more samples, reproducible by seed', () => {
  const values = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 10);
  const small = bootstrapMean(values(16));
  const large = bootstrapMean(values(1024));
  for (const m of [small, large]) {
    expect(m.low).toBeLessThanOrEqual(m.mean);
    expect(m.high).toBeGreaterThanOrEqual(m.mean);
  }
  expect(large.high - large.low).toBeLessThan((small.high - small.low) / 4);
  expect(bootstrapMean(values(16), { seed: 3 })).toEqual(bootstrapMean(values(16), { seed: 3 }));
  // Standard error of a mean of 1024 values with standard deviation ~7: the 95 % interval is about +-0.43.
  expect(large.high - large.low).toBeGreaterThan(0.5);
  expect(large.high - large.low).toBeLessThan(1.2);
  expect(bootstrapMean([5, 5, 5])).toEqual({ mean: 5, low: 5, high: 5, count: 3 });
});

test('two-stage bootstrap: the pooled mean, and an interval that widens when the groups (seeds) disagree', () => {
  const noise = (n: number, phase: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + phase));
  const agreeing = [noise(32, 0), noise(32, 1), noise(32, 2), noise(32, 3)];
  const disagreeing = agreeing.map((group, g) => group.map((v) => v + 3 * g));
  const pooled = disagreeing.flat();
  const clustered = clusteredBootstrapMean(disagreeing);
  expect(clustered.mean).toBeCloseTo(pooled.reduce((a, b) => a + b, 0) / pooled.length, 12);
  expect(clustered.count).toBe(128);
  expect(clustered.low).toBeLessThanOrEqual(clustered.mean);
  expect(clustered.high).toBeGreaterThanOrEqual(clustered.mean);
  // Treating the 128 values as independent hides the spread between the groups (means 0, 3, 6, 9).
  const naive = bootstrapMean(pooled);
  expect(clustered.high - clustered.low).toBeGreaterThan(3 * (naive.high - naive.low));
  const together = clusteredBootstrapMean(agreeing);
  expect(together.high - together.low).toBeLessThan(0.5 * (clustered.high - clustered.low));
  // One group: the plain bootstrap.
  expect(clusteredBootstrapMean([noise(16, 0)])).toEqual(bootstrapMean(noise(16, 0)));
  expect(() => clusteredBootstrapMean([[], []])).toThrow('no values');
});
