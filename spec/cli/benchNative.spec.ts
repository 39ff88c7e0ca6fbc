import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { nativeBlasAvailability } from '../../lib/backend/nativeBlas';
import { NATIVE_BENCH_LABELS, runNativeBench } from '../../lib/bench/nativeBench';
import { formatVariantsBenchTable } from '../../lib/bench/variantsBench';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';

const available = nativeBlasAvailability();
if (typeof available === 'string')
  process.stdout.write(`sag bench native: comparison test SKIPPED (${available})\n`);

/** `sag` from the sources, in child processes (jest's own command line is not sag's). */
const SAG_COMMAND = [process.execPath, '--import', 'tsx', path.join(__dirname, '..', '..', 'bin', 'sag.ts')];

test('a $SAG_NATIVE_BLAS library that cannot be opened is one error line, exit 2, no output file', () => {
  const out = path.join(makeTempDir('sag-native-'), 'digits.png');
  const run = spawnSync(SAG_COMMAND[0], [...SAG_COMMAND.slice(1), 'generate', '--steps', '2', '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, SAG_NATIVE_BLAS: '/nonexistent/libblas-nothing.so' },
    timeout: 120_000,
  });
  expect(run.status).toBe(2);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('sag: error:'));
  expect(errors).toEqual([
    expect.stringMatching(/^sag: error: \$SAG_NATIVE_BLAS: cannot open \/nonexistent\/libblas-nothing\.so: /),
  ]);
  expect(fs.existsSync(out)).toBe(false);
}, 120_000);

describe('sag bench native', () => {
  test('with the native kernels off it fails saying why, or skips with exit 0 when asked to', async () => {
    const saved = process.env.SAG_NATIVE_BLAS;
    process.env.SAG_NATIVE_BLAS = '0';
    try {
      const failed = await runCli(['bench', 'native']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/^sag: error: sag bench native cannot run: \$SAG_NATIVE_BLAS=0/m);
      const run = await runCli(['bench', 'native', '--skip-if-unavailable']);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/sag bench native: skipped: \$SAG_NATIVE_BLAS=0/);
    } finally {
      if (saved === undefined) delete process.env.SAG_NATIVE_BLAS;
      else process.env.SAG_NATIVE_BLAS = saved;
    }
  });

  (typeof available === 'string' ? test.skip : test)(
    'times every row with wasm kernels and with native kernels, each in its own process',
    async () => {
      const labels: string[] = [];
      const rows = await runNativeBench({
        threads: 1,
        rounds: 1,
        repeats: 1,
        batch: 2,
        n: 1,
        sagCommand: SAG_COMMAND,
        onRun: (variant) => labels.push(variant.label),
      });
      expect(labels).toEqual(NATIVE_BENCH_LABELS);
      expect(rows.map((r) => r.operation)).toEqual(
        expect.arrayContaining(['forward', 'input VJP, VJP graph', 'SAG gradient n=1, VJP graph']),
      );
      for (const row of rows) {
        expect(row.ms).toHaveLength(2);
        for (const ms of row.ms) expect(ms).toBeGreaterThan(0);
      }
      const table = formatVariantsBenchTable(NATIVE_BENCH_LABELS, rows);
      expect(table).toMatch(/native kernels vs wasm kernels/);
    },
    240_000,
  );
});
