import { spawnSync } from 'child_process';
import { pytorchEnvironment } from '../../lib/bench/pytorchWorker';
import { runCli } from '../helpers/runCli';

const PYTHON = process.env.SAG_TEST_PYTHON ?? 'python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env: pytorchEnvironment() }).status === 0;
if (!hasTorch)
  process.stdout.write(
    `sag bench pytorch: comparison test SKIPPED (${PYTHON} has no torch; apt-get install python3-torch, or set SAG_TEST_PYTHON)\n`,
  );

describe('sag bench pytorch', () => {
  test('without PyTorch it fails saying why, or skips with exit 0 when asked to', async () => {
    const failed = await runCli(['bench', 'pytorch', '--python', '/nonexistent/python3']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /^sag: error: sag bench pytorch cannot run: \/nonexistent\/python3 could not start/m,
    );
    const run = await runCli([
      'bench',
      'pytorch',
      '--python',
      '/nonexistent/python3',
      '--skip-if-unavailable',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/sag bench pytorch: skipped: \/nonexistent\/python3 could not start/);
  });

  (hasTorch ? test : test.skip)(
    'PyTorch and sag compute the same eps and logits, and every row is timed',
    async () => {
      const run = await runCli([
        'bench',
        'pytorch',
        '--python',
        PYTHON,
        '--batch',
        '2',
        '--n',
        '2',
        '--repeats',
        '1',
        '--json',
      ]);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as {
        agreement: { eps_rel: number; logits_rel: number };
        rows: { operation: string; batch: number; torchMs: number; sagMs: number; sagPeakBytes: number }[];
      };
      expect(report.agreement.eps_rel).toBeLessThan(1e-5);
      expect(report.agreement.logits_rel).toBeLessThan(1e-5);
      expect(report.rows.map((r) => r.operation)).toEqual([
        'forward',
        'input VJP, tf.grad',
        'input VJP, VJP graph',
        'SAG gradient n = 2, symplectic, tf.grad',
        'SAG gradient n = 2, symplectic, VJP graph',
        'SAG gradient n = 2, direct',
      ]);
      for (const row of report.rows) {
        expect(row.torchMs).toBeGreaterThan(0);
        expect(row.sagMs).toBeGreaterThan(0);
      }
    },
    120_000,
  );
});
