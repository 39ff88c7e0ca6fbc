import { bootstrapMean, rowCosines, rowRelativeErrors } from '../../lib/eval/sampleStatistics';

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
