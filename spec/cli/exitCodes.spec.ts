import { errorLine, exitCodeOf } from '../../bin/cliErrors';
import { RunFailedError } from '../../lib/runFailure';
import { InvalidOptionError } from '../../lib/options/invalidOption';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import * as fs from 'fs';
import * as path from 'path';

describe('exit codes: 2 for bad input, 1 for a failed run; one `sag: ` line each', () => {
  test('bad input, from commander or from sag, exits 2 with one sag: error: line', async () => {
    const cases: [string[], RegExp][] = [
      [['generate', '--bogus', '--out', 'x.png'], /^sag: error: unknown option '--bogus'/],
      [['generate'], /^sag: error: required option '--out <file>' not specified/],
      [['generate', '--steps', 'many', '--out', 'x.png'], /^sag: error: .*--steps/],
      [['generate', '--method', 'magic', '--out', 'x.png'], /^sag: error: .*--method/],
      [
        ['generate', '--style', 'missing.png', '--guidance', 'style', '--out', 'x.png'],
        /^sag: error: .*missing.png/,
      ],
      [['nonsense'], /^sag: error: unknown command 'nonsense'/],
    ];
    for (const [args, line] of cases) {
      const run = await runCli(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      const errors = run.stderr.split('\n').filter((l) => /^(sag: )?(error|internal error)/.test(l));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(line);
    }
  });

  test('a diverging run exits 1, naming the step, and writes nothing', async () => {
    const dir = makeTempDir('exit-codes');
    const out = path.join(dir, 'x.png');
    const run = await runCli([
      'generate',
      '--guidance',
      'class',
      '--target',
      '3',
      '--steps',
      '4',
      '--rho-mode',
      'constant',
      '--rho-scale',
      '1e38',
      '--rho-max',
      '1e38',
      '--out',
      out,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^sag: error: NaN or Inf in the .* at main step \d+/m);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the classification: failed runs and bugs are 1, everything sag checks is 2', () => {
    expect(exitCodeOf(new RunFailedError('the GPU device reported an error'))).toBe(1);
    expect(exitCodeOf(new TypeError("Cannot read properties of undefined (reading 'shape')"))).toBe(1);
    expect(exitCodeOf(new RangeError('Invalid array length'))).toBe(1);
    expect(exitCodeOf('a thrown string')).toBe(1);
    expect(exitCodeOf(new Error('--style x.png: file not found'))).toBe(2);
    expect(exitCodeOf(new InvalidOptionError('n', 'an integer in [1, 50]'))).toBe(2);
    expect(errorLine(new TypeError('x is not a function'))).toBe(
      'internal error: TypeError: x is not a function (a bug in sag; SAG_DEBUG=1 prints where it happened)',
    );
    expect(errorLine(new InvalidOptionError('n', 'an integer in [1, 50]'))).toBe(
      'error: --n: an integer in [1, 50]',
    );
  });
});
