import { GRADIENT_METHODS } from '../../lib/adjoint';
import { runCli } from '../helpers/runCli';

describe('sag bench adjoint', () => {
  test('--json prints one row per method x tableau x n with the documented keys', async () => {
    const run = await runCli([
      'bench',
      'adjoint',
      '--backend',
      'cpu',
      '--json',
      '--n',
      '1,3',
      '--tableaus',
      'euler,heun',
      '--width',
      '8',
      '--resolution',
      '4',
      '--repeats',
      '1',
    ]);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(GRADIENT_METHODS.length * 2 * 2);
    for (const row of rows)
      expect(Object.keys(row).sort()).toEqual(['method', 'ms', 'n', 'peakBytes', 'relErr', 'tableau']);
    for (const row of rows.filter((r) => r.method === 'direct')) expect(row.relErr).toBe(0);
    for (const row of rows.filter((r) => r.method === 'symplectic'))
      expect(row.relErr).toBeLessThanOrEqual(1e-5);
    const vanilla3 = rows.find((r) => r.method === 'vanilla' && r.n === 3 && r.tableau === 'euler');
    expect(vanilla3?.relErr).toBeGreaterThan(1e-3);
  });

  test('prints a table by default', async () => {
    const run = await runCli([
      'bench',
      'adjoint',
      '--backend',
      'cpu',
      '--n',
      '1',
      '--tableaus',
      'euler',
      '--width',
      '8',
      '--resolution',
      '4',
      '--repeats',
      '1',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/method\s+tableau\s+n\s+relErr\s+peak MB\s+ms/);
  });

  test('bad options: one error line and exit code 2', async () => {
    const badN = await runCli(['bench', 'adjoint', '--n', '0,2']);
    expect(badN.code).toBe(2);
    expect(badN.stderr).toMatch(/--n: expected a comma-separated list of integers >= 1, got '0,2'/);
    const badTableau = await runCli(['bench', 'adjoint', '--tableaus', 'rk45']);
    expect(badTableau.code).toBe(2);
    expect(badTableau.stderr).toMatch(
      /--tableaus: expected a comma-separated subset of euler, heun, midpoint, rk4, got 'rk45'/,
    );
    const badBackend = await runCli(['bench', 'adjoint', '--backend', 'metal']);
    expect(badBackend.code).toBe(2);
    expect(badBackend.stderr).toMatch(/'metal' is invalid/);
  });
});
