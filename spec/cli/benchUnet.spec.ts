import { runCli } from '../helpers/runCli';
import { testBackendName } from '../helpers/testBackend';

describe('sag bench unet', () => {
  test('a reduced-scale SD v1.5 UNet: forward, VJP and SAG gradients, exact against direct backprop', async () => {
    const run = await runCli(
      ['bench', 'unet', '--scale', '0.1', '--latent', '8', '--n', '1,2', '--repeats', '1'].concat([
        '--backend',
        testBackendName(),
        '--json',
        '--profile',
      ]),
    );
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      parameters: number;
      rows: { operation: string; method: string | null; n: number | null; relErrVsDirect: number | null }[];
      profiles: Record<
        'forward' | 'vjp',
        { launches: number; byKernel: { kernel: string; launches: number }[] }
      >;
    };
    expect(report.parameters).toBeGreaterThan(1e6);
    expect(report.rows.map((r) => r.operation).slice(0, 4)).toEqual([
      'forward',
      'forward',
      'input VJP',
      'input VJP, VJP graph',
    ]);
    const gradients = report.rows.filter((r) => r.operation === 'SAG gradient');
    const perN = ['direct', 'symplectic', 'checkpointed', 'symplectic, VJP graph'];
    expect(gradients.map((r) => r.method)).toEqual([...perN, ...perN]);
    for (const row of gradients) expect(row.relErrVsDirect).toBeLessThanOrEqual(1e-5);
    // The VJP graph keeps only what the backward pass needs.
    const peak = (operation: string) =>
      (report.rows.find((r) => r.operation === operation) as unknown as { peakTensorBytes: number })
        .peakTensorBytes;
    expect(peak('input VJP, VJP graph')).toBeLessThan(0.5 * peak('input VJP'));
    // The VJP launches the forward's kernels and their backward rules.
    expect(report.profiles.vjp.launches).toBeGreaterThan(report.profiles.forward.launches);
    const conv = report.profiles.forward.byKernel.find((k) => k.kernel === 'Conv2D');
    expect(conv?.launches).toBeGreaterThan(20);
  });

  test('a bad scale is one error line', async () => {
    const run = await runCli(['bench', 'unet', '--scale', '3', '--backend', testBackendName()]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--scale: expected a number in \(0, 1\]/);
  });
});
