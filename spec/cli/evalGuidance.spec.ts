import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { GuidanceCellResult } from '../../lib/eval/guidanceCell';
import { GuidanceSummaryRow } from '../../lib/eval/guidanceSummary';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import { testBackendName } from '../helpers/testBackend';

const STEPS = 4;
const tinyGrid = (dir: string, extra: string[] = []) => [
  'eval',
  'guidance',
  '--backend',
  testBackendName(),
  '--methods',
  'none,freedom,ug,sag:n=1,sag:n=2',
  '--strengths',
  '0.002,0.01',
  '--targets',
  '7',
  '--seeds',
  '0',
  '--num',
  '2',
  '--steps',
  String(STEPS),
  '--out-dir',
  dir,
  ...extra,
];

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

test('sag eval guidance: a tiny grid end to end, with tables, plots, grids; a rerun resumes', async () => {
  const dir = makeTempDir('eval-guidance');
  try {
    const run = await runCli(tinyGrid(dir));
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'cells',
      'guidance.csv',
      'guidance.json',
      'guidance.md',
      'overview-7.png',
      'vs-accuracy.svg',
      'vs-calls.svg',
      'vs-n.svg',
      'vs-strength.svg',
    ]);
    // 1 unguided cell + 4 guided methods x 2 strengths, each with its samples.
    const cellFiles = fs.readdirSync(path.join(dir, 'cells')).sort();
    expect(cellFiles.filter((f) => f.endsWith('.json'))).toHaveLength(9);
    expect(cellFiles.filter((f) => f.endsWith('.png'))).toHaveLength(9);
    const { rows } = readJson<{ rows: GuidanceSummaryRow[] }>(path.join(dir, 'guidance.json'));
    expect(rows.map((r) => `${r.method}@${r.strength}`)).toEqual([
      'none@null',
      'freedom@0.002',
      'freedom@0.01',
      'ug@0.002',
      'ug@0.01',
      'sag:n=1@0.002',
      'sag:n=1@0.01',
      'sag:n=2@0.002',
      'sag:n=2@0.01',
    ]);
    for (const row of rows) {
      expect(row.images).toBe(2);
      expect(Number.isFinite(row.loss.mean)).toBe(true);
      expect(row.accuracy?.count).toBe(2);
      expect(row.targetProbability?.mean).toBeGreaterThanOrEqual(0);
      expect(row.frechet?.distance).toBeGreaterThan(0);
      expect(row.frechet?.realFloor).toBeGreaterThan(0);
      expect(row.stepPeakBytes).toBeGreaterThan(0);
    }
    const calls = (label: string) => rows.find((r) => r.method === label)?.networkCalls;
    // Unguided: one prediction per step. FreeDoM: the same prediction is its estimate, plus one VJP per step.
    expect(calls('none')).toEqual({ forward: STEPS, vjp: 0 });
    expect(calls('freedom')).toEqual({ forward: STEPS, vjp: STEPS });
    expect(calls('ug')).toEqual({ forward: STEPS, vjp: STEPS });
    // SAG: n VJPs per step; its forwards grow with n too.
    expect(calls('sag:n=1')?.vjp).toBe(STEPS);
    expect(calls('sag:n=2')?.vjp).toBe(2 * STEPS);
    expect(calls('sag:n=2')?.forward).toBeGreaterThan(calls('sag:n=1')?.forward as number);
    expect(run.stdout).toMatch(
      /^method\s+strength\s+target\s+images\s+loss\s+accuracy %\s+p\(target\)\s+FD \(real\)/,
    );
    expect(fs.readFileSync(path.join(dir, 'guidance.md'), 'utf8')).toMatch(
      /^\| method +\| strength +\| target +\|/,
    );
    expect(fs.readFileSync(path.join(dir, 'guidance.csv'), 'utf8').split('\n')[1]).toMatch(
      /^none,,7,,1,2,1,/,
    );
    for (const [plot, method] of [
      ['vs-calls.svg', 'freedom'],
      ['vs-accuracy.svg', 'Fréchet distance'],
      ['vs-strength.svg', 'freedom'],
      ['vs-n.svg', 'estimate steps n'],
    ]) {
      const svg = fs.readFileSync(path.join(dir, plot), 'utf8');
      expect([svg.startsWith('<svg'), svg.trimEnd().endsWith('</svg>'), svg.includes(method)]).toEqual([
        true,
        true,
        true,
      ]);
    }
    expect(fs.readFileSync(path.join(dir, 'overview-7.png')).subarray(1, 4).toString()).toBe('PNG');

    // The same command again: every cell is reused, the table is the same.
    const cellJson = path.join(dir, 'cells', cellFiles.find((f) => f.endsWith('.json')) as string);
    const before = fs.statSync(cellJson).mtimeMs;
    const csv = fs.readFileSync(path.join(dir, 'guidance.csv'), 'utf8');
    const again = await runCli(tinyGrid(dir));
    expect(again.code).toBe(0);
    expect(fs.statSync(cellJson).mtimeMs).toBe(before);
    expect(fs.readFileSync(path.join(dir, 'guidance.csv'), 'utf8')).toBe(csv);
    // Other settings in the same directory: refused, nothing mixed.
    const other = await runCli(tinyGrid(dir, ['--steps', '5']));
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/was made with other settings or models; .* --restart/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);

test('sag eval guidance: bad input is one error line and writes nothing', async () => {
  const dir = path.join(makeTempDir('eval-guidance-bad'), 'out');
  const cases: [string[], RegExp][] = [
    [['--methods', 'freedom:n=4'], /--methods: 'freedom:n=4': n applies to sag only/],
    [['--styles', 'a.png'], /--targets, --styles: give one of them, not both/],
    [['--strengths', '0.1,x'], /--strengths: expected a comma-separated list of numbers >= 0/],
  ];
  for (const [extra, message] of cases) {
    const args = tinyGrid(dir);
    for (let i = 0; i < extra.length; i += 2) {
      const at = args.indexOf(extra[i]);
      if (at >= 0) args.splice(at, 2, extra[i], extra[i + 1]);
      else args.push(extra[i], extra[i + 1]);
    }
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(dir)).toBe(false);
  }
});

test('sag eval guidance --workers 2: worker processes give the cells one process gives', async () => {
  const single = makeTempDir('eval-guidance-single');
  const workers = makeTempDir('eval-guidance-workers');
  const grid = (dir: string) => [
    ...tinyGrid(dir).slice(0, 4),
    '--methods',
    'none,freedom',
    '--strengths',
    '0.01',
    '--targets',
    '7',
    '--seeds',
    '0,1',
    '--num',
    '2',
    '--steps',
    '3',
    '--out-dir',
    dir,
  ];
  try {
    const root = path.join(__dirname, '..', '..');
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'bin', 'sag.ts'), ...grid(workers), '--workers', '2'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, SAG_WASM_THREADS: '2' } },
    );
    expect(child.stderr).toMatch(/4 cells in 2 worker processes \(wasm: 1 thread each\)/);
    expect(child.status).toBe(0);
    const run = await runCli(grid(single));
    expect(run.code).toBe(0);
    // One strength and one guided method: the plots that need more say so.
    expect(run.stderr).toMatch(/eval guidance: no plot vs-strength\.svg \(needs two or more --strengths\)/);
    const cells = fs.readdirSync(path.join(single, 'cells')).filter((f) => f.endsWith('.json'));
    expect(cells).toHaveLength(4);
    for (const file of cells) {
      const a = readJson<GuidanceCellResult>(path.join(single, 'cells', file));
      const b = readJson<GuidanceCellResult>(path.join(workers, 'cells', file));
      a.losses.forEach((loss, i) =>
        expect(Math.abs(b.losses[i] - loss)).toBeLessThan(1e-3 * Math.abs(loss) + 1e-6),
      );
    }
  } finally {
    fs.rmSync(single, { recursive: true, force: true });
    fs.rmSync(workers, { recursive: true, force: true });
  }
}, 300_000);
