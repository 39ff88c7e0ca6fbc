import { runCli } from '../helpers/runCli';
import { testBackendName } from '../helpers/testBackend';

describe('sag bench guidance', () => {
  test('--json on the embedded model: one row per configuration with the documented keys', async () => {
    const run = await runCli([
      'bench',
      'guidance',
      '--backend',
      testBackendName(),
      '--json',
      '--steps',
      '1',
      '--methods',
      'sag,freedom,none',
      '--n',
      '1,2',
      '--grads',
      'symplectic,direct',
    ]);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Record<string, number | string>[];
    expect(rows.map((r) => `${r.method}/${r.grad}/${r.n}`)).toEqual([
      'sag/symplectic/1',
      'sag/symplectic/2',
      'sag/direct/1',
      'sag/direct/2',
      'freedom/symplectic/1',
      'none/symplectic/1',
    ]);
    for (const row of rows)
      expect(Object.keys(row).sort()).toEqual([
        'grad',
        'guidanceMs',
        'method',
        'modelMs',
        'n',
        'peakBytes',
        'stepMs',
      ]);
    for (const row of rows.filter((r) => r.method !== 'none')) expect(row.guidanceMs).toBeGreaterThan(0);
    expect(rows[rows.length - 1].guidanceMs).toBe(0);
    // Direct backprop holds both estimate steps' graphs; the symplectic adjoint one at a time.
    expect(rows[3].peakBytes as number).toBeGreaterThan(1.3 * (rows[1].peakBytes as number));
  });

  test('bad input: a model without --guidance is one error line and exit code 2', async () => {
    const run = await runCli([
      'bench',
      'guidance',
      '--backend',
      testBackendName(),
      '--model',
      'weights/digit-unet',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'sag: error: --guidance: required with --model (which loss to guide with)',
    ]);
  });
});
