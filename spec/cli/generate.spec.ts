import * as fs from 'fs';
import * as path from 'path';
import { readImageFile } from '../../lib/io/imageFile';
import {
  ConvertedFixtures,
  EXAMPLES,
  convertFixtureModels,
  removeFixtureModels,
} from '../helpers/fixturePipeline';
import { runCli } from '../helpers/runCli';
import { testBackendName } from '../helpers/testBackend';

let models: ConvertedFixtures;
beforeAll(async () => {
  models = await convertFixtureModels();
});
afterAll(() => removeFixtureModels(models));

const common = () => [
  '--backend',
  testBackendName(),
  '--model',
  models.sd,
  '--clip',
  models.clip,
  '--size',
  '64',
  '--steps',
  '4',
  '--seed',
  '5',
];

test('generate --guidance style with a report and a comparison grid', async () => {
  const out = path.join(models.dir, 'grid.png');
  const report = path.join(models.dir, 'run.json');
  const run = await runCli([
    'generate',
    ...common(),
    '--prompt',
    'a cat',
    '--guidance',
    'style',
    '--style',
    path.join(EXAMPLES, 'style-waves.png'),
    '--window',
    '1..2',
    '--n',
    '2',
    '--compare',
    'sag,freedom,none',
    '--out',
    out,
    '--report',
    report,
  ]);
  expect(run.stderr).not.toMatch(/error/);
  expect(run.code).toBe(0);
  const image = readImageFile(out);
  expect(image.width).toBeGreaterThan(3 * 64);
  const json = JSON.parse(fs.readFileSync(report, 'utf8'));
  expect(json.runs.map((r: { method: string }) => r.method)).toEqual(['sag', 'freedom', 'none']);
  const sag = json.runs[0];
  expect(sag.seed).toBe(5);
  expect(
    sag.steps
      .filter((s: { guided: boolean }) => s.guided)
      .every((s: { loss: number; rho: number }) => s.loss > 0 && s.rho > 0),
  ).toBe(true);
  expect(sag.timingsMs.sampling).toBeGreaterThan(0);
  const guidedSteps = sag.steps.filter((s: { guided: boolean }) => s.guided);
  for (const s of guidedSteps) expect(s.guidanceMs).toBeGreaterThan(0);
  for (const s of sag.steps) expect(s.epsMs + s.guidanceMs).toBeLessThanOrEqual(s.ms);
  expect(sag.timingsMs['sampling: guidance']).toBeGreaterThan(0);
  expect(sag.timingsMs['sampling: model'] + sag.timingsMs['sampling: guidance']).toBeLessThanOrEqual(
    sag.timingsMs.sampling,
  );
  expect(json.runs[2].timingsMs['sampling: guidance']).toBe(0);
  expect(sag.memory.peakTensorBytes).toBeGreaterThan(0);
  expect(json.backend).toMatch(/wasm/);
});

test.each([
  ['clip', ['--guidance', 'clip', '--target', 'a red house']],
  [
    'object',
    [
      '--guidance',
      'object',
      '--ref',
      path.join(EXAMPLES, 'style-waves.png'),
      path.join(EXAMPLES, 'face-sketch.png'),
    ],
  ],
  ['face', ['--guidance', 'face', '--ref', path.join(EXAMPLES, 'face-sketch.png')]],
])('generate --guidance %s: SAG lowers its loss below unguided on the same seed', async (_kind, flags) => {
  const out = path.join(models.dir, `${_kind}.jpg`);
  const report = path.join(models.dir, `${_kind}.json`);
  const run = await runCli([
    'generate',
    ...common(),
    '--arcface',
    models.arcface,
    '--window',
    '1..3',
    '--n',
    '2',
    '--prompt',
    'a photo',
    ...flags,
    '--compare',
    'sag,none',
    '--report',
    report,
    '--out',
    out,
  ]);
  expect(run.stderr).not.toMatch(/error/);
  expect(run.code).toBe(0);
  expect(readImageFile(out).width).toBeGreaterThanOrEqual(2 * 64);
  const [sag, none] = JSON.parse(fs.readFileSync(report, 'utf8')).runs as { finalLosses: number[] }[];
  // Measured (wasm, seed 5, 3 guided steps of 4, default rho, random tiny fixture networks): clip 63.91 vs 64.16,
  // object 0.0908 vs 0.0944, face 0.2366 vs 0.2433. The margins below are about a third of those drops.
  const margin = { clip: 0.001, object: 0.01, face: 0.01 }[_kind as 'clip' | 'object' | 'face'];
  sag.finalLosses.forEach((loss, i) => expect(loss).toBeLessThan(none.finalLosses[i] * (1 - margin)));
});

test('generate --guidance aesthetic with a linear head: SAG lowers the loss (raises the score)', async () => {
  const head = path.join(models.dir, 'head.json');
  fs.writeFileSync(
    head,
    JSON.stringify({ weight: Array.from({ length: 16 }, (_, i) => Math.sin(i)), bias: 0.1 }),
  );
  const out = path.join(models.dir, 'aesthetic.png');
  const report = path.join(models.dir, 'aesthetic.json');
  const run = await runCli([
    'generate',
    ...common(),
    '--guidance',
    'aesthetic',
    '--aesthetic-head',
    head,
    '--window',
    '1..3',
    '--compare',
    'sag,none',
    '--report',
    report,
    '--out',
    out,
  ]);
  expect(run.stderr).not.toMatch(/error/);
  expect(run.code).toBe(0);
  const [sag, none] = JSON.parse(fs.readFileSync(report, 'utf8')).runs as { finalLosses: number[] }[];
  // Measured (wasm, seed 5): -0.3006 guided vs -0.2592 unguided (loss = minus the head's score).
  sag.finalLosses.forEach((loss, i) => expect(loss).toBeLessThan(none.finalLosses[i] - 0.01));
});

test('stylize uses the style preset and needs --style', async () => {
  const missing = await runCli(['stylize', ...common(), '--out', path.join(models.dir, 's.png')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--style <image> is required/);
  const out = path.join(models.dir, 'stylized.png');
  const report = path.join(models.dir, 'stylize.json');
  const run = await runCli([
    'stylize',
    ...common(),
    '--style',
    path.join(EXAMPLES, 'style-waves.png'),
    '--steps',
    '6',
    '--window',
    '2..3',
    '--out',
    out,
    '--report',
    report,
  ]);
  expect(run.code).toBe(0);
  const options = JSON.parse(fs.readFileSync(report, 'utf8')).runs[0].options;
  expect(options).toMatchObject({
    sampler: 'dpmpp2m',
    repeats: 2,
    grid: 'released',
    guidance: ['style'],
    n: 4,
  });
});

test('bad input: one error line, exit code 2, no output file', async () => {
  const out = path.join(models.dir, 'bad.png');
  const noModel = await runCli([
    'generate',
    '--backend',
    testBackendName(),
    '--model',
    path.join(models.dir, 'nope'),
    '--out',
    out,
  ]);
  expect(noModel.code).toBe(2);
  expect(
    noModel.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('sag: error')),
  ).toHaveLength(1);
  const nan = await runCli([
    'generate',
    ...common(),
    '--guidance',
    'style',
    '--style',
    path.join(EXAMPLES, 'style-waves.png'),
    '--rho-mode',
    'constant',
    '--rho-scale',
    '1e38',
    '--rho-max',
    '1e38',
    '--out',
    out,
  ]);
  expect(nan.code).toBe(1); // a failed run, not bad input
  expect(nan.stderr).toMatch(/NaN or Inf in the .* at main step \d+ \(method sag\)/);
  expect(fs.existsSync(out)).toBe(false);
  const badOut = await runCli(['generate', ...common(), '--out', path.join(models.dir, 'x.gif')]);
  expect(badOut.code).toBe(2);
  expect(badOut.stderr).toMatch(/expected a .png, .jpg or .jpeg file name/);
});

test('eval guidance on a Stable Diffusion model: loss, CLIP score, cost; no evaluator columns', async () => {
  const out = path.join(models.dir, 'eval-guidance');
  const run = await runCli([
    'eval',
    'guidance',
    ...common().filter((arg, i, all) => arg !== '--seed' && all[i - 1] !== '--seed'),
    '--guidance',
    'clip',
    '--targets',
    'a red house',
    '--methods',
    'none,sag:n=2',
    '--strengths',
    '0.2',
    '--seeds',
    '0',
    '--num',
    '1',
    '--out-dir',
    out,
  ]);
  expect(run.stderr).not.toMatch(/error/);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^method\s+strength\s+target\s+images\s+loss\s+CLIP score\s+s \/ image/);
  const { rows } = JSON.parse(fs.readFileSync(path.join(out, 'guidance.json'), 'utf8')) as {
    rows: {
      method: string;
      accuracy: unknown;
      frechet: unknown;
      clipScore: { mean: number };
      loss: { mean: number };
    }[];
  };
  expect(rows.map((r) => r.method)).toEqual(['none', 'sag:n=2']);
  for (const row of rows) {
    expect([row.accuracy, row.frechet]).toEqual([null, null]);
    // The clip loss is minus the CLIP score against the same text.
    expect(row.clipScore.mean).toBeCloseTo(-row.loss.mean, 3);
  }
  expect(fs.existsSync(path.join(out, 'overview-a-red-house.png'))).toBe(true);
}, 240_000);
