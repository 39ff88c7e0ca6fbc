import { runCli } from '../helpers/runCli';

describe('sag bench conv', () => {
  test("SD's 3x3 convolutions at reduced scale: sag's input VJP agrees with the stock kernel", async () => {
    const run = await runCli([
      'bench',
      'conv',
      '--scale',
      '0.05',
      '--latent',
      '8',
      '--repeats',
      '1',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      rows: { label: string; forwardMs: number; sagInputVjpMs: number; relErr: number }[];
    };
    expect(report.rows.map((r) => r.label)).toEqual([
      '8x8x16 3x3',
      '4x4x32 3x3',
      '2x2x64 3x3',
      '1x1x64 3x3',
      '8x8x16 3x3 stride 2',
    ]);
    for (const row of report.rows) {
      expect(row.forwardMs).toBeGreaterThan(0);
      expect(row.relErr).toBeLessThan(1e-5);
    }
  });

  test('a latent that is not a multiple of 8 is one error line', async () => {
    const run = await runCli(['bench', 'conv', '--latent', '12', '--backend', 'cpu']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--latent: expected a multiple of 8/);
  });
});
