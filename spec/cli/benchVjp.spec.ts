import { runCli } from '../helpers/runCli';
import { testBackendName } from '../helpers/testBackend';

test('sag bench vjp: the VJP graph agrees with tf.grad and needs less memory (embedded UNet, batch 2)', async () => {
  const run = await runCli([
    'bench',
    'vjp',
    '--batch',
    '2',
    '--n',
    '2',
    '--repeats',
    '1',
    '--backend',
    testBackendName(),
    '--json',
  ]);
  expect(run.stderr).not.toMatch(/error/);
  expect(run.code).toBe(0);
  const report = JSON.parse(run.stdout) as {
    rows: { operation: string; ms: number; peakBytes: number; kernels: number; relDiff: number | null }[];
  };
  const row = (name: string) => report.rows.find((r) => r.operation === name) as (typeof report.rows)[0];
  expect(report.rows.map((r) => r.operation)).toEqual([
    'forward',
    'input VJP, tf.grad',
    'input VJP, VJP graph',
    'SAG gradient n=2, tf.grad',
    'SAG gradient n=2, VJP graph',
  ]);
  expect(row('input VJP, VJP graph').relDiff).toBeLessThan(1e-5);
  expect(row('SAG gradient n=2, VJP graph').relDiff).toBeLessThan(1e-5);
  // Measured when written (wasm, batch 2): 64 vs 13 MiB; the graph releases each activation after its last use.
  expect(row('input VJP, VJP graph').peakBytes).toBeLessThan(0.5 * row('input VJP, tf.grad').peakBytes);
  expect(row('input VJP, VJP graph').kernels).toBeLessThan(row('input VJP, tf.grad').kernels);
});
