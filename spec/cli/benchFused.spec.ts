import * as path from 'path';
import { runFusedOpsBench } from '../../lib/bench/fusedOpsBench';
import { formatVariantsBenchTable } from '../../lib/bench/variantsBench';
import { runCli } from '../helpers/runCli';

/** `sag` from the sources, in child processes (jest's own command line is not sag's). */
const SAG_COMMAND = [process.execPath, '--import', 'tsx', path.join(__dirname, '..', '..', 'bin', 'sag.ts')];

test('sag bench fused times every row of bench unet per --fused-ops choice, each in its own process', async () => {
  const labels: string[] = [];
  const rows = await runFusedOpsBench({
    choices: ['none', 'all'],
    backend: 'wasm',
    scale: 0.05,
    latent: 8,
    n: 1,
    rounds: 1,
    repeats: 1,
    sagCommand: SAG_COMMAND,
    onRun: (variant) => labels.push(variant.label),
  });
  expect(labels).toEqual(['none', 'all']);
  expect(rows.map((r) => r.operation)).toContain('SAG gradient symplectic, VJP graph n=1 b=1');
  for (const row of rows) {
    expect(row.ms).toHaveLength(2);
    expect(row.ms.every((ms) => ms > 0)).toBe(true);
    expect(row.peakMiB?.every((mib) => mib > 0)).toBe(true);
  }
  const table = formatVariantsBenchTable(['none', 'all'], rows);
  expect(table).toMatch(/all vs none/);
  expect(table).toMatch(/none peak MiB/);
}, 300_000);

test('sag bench fused needs two choices to compare', async () => {
  const run = await runCli(['bench', 'fused', '--compare', 'all']);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/--compare: expected at least two choices/);
});
