import * as fs from 'fs';
import * as path from 'path';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import { testBackendName } from '../helpers/testBackend';

test('sag eval estimate on the embedded model: more estimate steps, closer to the fine solve; files written', async () => {
  const dir = makeTempDir('eval-estimate');
  try {
    const run = await runCli([
      'eval',
      'estimate',
      '--backend',
      testBackendName(),
      '--timesteps',
      '600',
      '--n-list',
      '1,4',
      '--samples',
      '4',
      '--batch',
      '4',
      '--reference-steps',
      '6',
      '--steps',
      '10',
      '--out-dir',
      dir,
    ]);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'estimate.csv',
      'estimate.json',
      'estimate.md',
      'estimate.svg',
    ]);
    const svg = fs.readFileSync(path.join(dir, 'estimate.svg'), 'utf8');
    expect([svg.startsWith('<svg'), svg.includes('gradient cosine'), svg.includes('t = 600')]).toEqual([
      true,
      true,
      true,
    ]);
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'estimate.json'), 'utf8')) as {
      rows: { n: number; relativeError: { mean: number }; gradientCosine: { mean: number } }[];
      samples: number;
    };
    expect(result.samples).toBe(4);
    const [one, four] = result.rows;
    expect([one.n, four.n]).toEqual([1, 4]);
    // Claim (a): the 4-step estimate is closer to the fine solve, and so is its gradient.
    expect(four.relativeError.mean).toBeLessThan(0.7 * one.relativeError.mean);
    expect(four.gradientCosine.mean).toBeGreaterThan(one.gradientCosine.mean);
    expect(fs.readFileSync(path.join(dir, 'estimate.md'), 'utf8')).toMatch(
      /^\| t \| tableau \| n \| x0 rel\. error/,
    );
    expect(fs.readFileSync(path.join(dir, 'estimate.csv'), 'utf8').split('\n')[1]).toMatch(/^600,euler,1,/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
