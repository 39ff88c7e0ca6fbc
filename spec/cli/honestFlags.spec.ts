import * as fs from 'fs';
import * as path from 'path';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import { testBackendName } from '../helpers/testBackend';

const style = path.join(__dirname, '..', '..', 'weights', 'examples', 'digit-style-0.png');
let dir: string;
beforeEach(() => {
  dir = makeTempDir('flags');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const generate = (...args: string[]) =>
  runCli([
    'generate',
    '--backend',
    testBackendName(),
    '--steps',
    '3',
    '--out',
    path.join(dir, 'x.png'),
    ...args,
  ]);

describe('no silent no-ops', () => {
  test.each([
    [['--target', '7'], /--target: '7' is only used by guidance class or clip \(got no guidance\)/],
    [['--style', style], /--style: '.*digit-style-0.png' is only used by guidance style/],
    [['--ref', style], /--ref: '.*' is only used by guidance object or face/],
    [
      ['--guidance', 'style', '--style', style, '--target', '3'],
      /--target: '3' is only used by guidance class or clip \(got guidance style\)/,
    ],
  ])('%s without a guidance that reads it is an error, and nothing is written', async (args, message) => {
    const run = await generate(...(args as string[]));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('--cfg on the unconditional embedded model warns once and is recorded as 1', async () => {
    const report = path.join(dir, 'run.json');
    const run = await generate('--cfg', '5', '--report', report);
    expect(run.code).toBe(0);
    expect(run.stderr.match(/no classifier-free guidance: --cfg 5 is ignored/g)).toHaveLength(1);
    const written = JSON.parse(fs.readFileSync(report, 'utf8'));
    expect(written.runs[0].options.cfg).toBe(1);
    expect(written.sagVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(new Date(written.createdAt).toISOString()).toBe(written.createdAt);
    expect(written.models.classifier).toBe('embedded digit-classifier');
    expect(written.settingSources).toMatchObject({
      cfg: 'flag',
      steps: 'flag',
      rhoScale: 'model sag.json',
      n: 'default',
    });
  });

  test('--method beside --compare is refused; a tableau for a one-step method warns', async () => {
    const both = await generate('--compare', 'sag,freedom', '--method', 'freedom');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(
      /^sag: error: --method freedom: not with --compare, which names the methods to run/m,
    );
    const tableau = await generate(
      '--method',
      'freedom',
      '--tableau',
      'rk4',
      '--guidance',
      'class',
      '--target',
      '3',
    );
    expect(tableau.code).toBe(0);
    expect(tableau.stderr).toMatch(/warning: --tableau rk4 is ignored: freedom uses the one-step estimate/);
  });

  test('a reversed --window says so', async () => {
    const run = await generate('--guidance', 'class', '--target', '7', '--window', '2..1');
    expect(run.stderr).toMatch(/--window: 2\.\.1 is reversed/);
  });
});

describe('stylize preset', () => {
  test('the window follows --steps, and no CFG is recorded for the embedded model', async () => {
    const report = path.join(dir, 'run.json');
    const run = await runCli(
      [
        'stylize',
        '--backend',
        testBackendName(),
        '--steps',
        '12',
        '--style',
        style,
        '--out',
        path.join(dir, 'x.png'),
      ].concat(['--report', report]),
    );
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const options = JSON.parse(fs.readFileSync(report, 'utf8')).runs[0].options;
    expect(options.window).toBe('4..7');
    expect(options.cfg).toBe(1);
    expect(run.stderr).not.toMatch(/cfg/);
  });
});

test('--progress in a pipe prints a line at least every 2 s', async () => {
  const started = Date.now();
  const run = await generate('--guidance', 'class', '--target', '7', '--steps', '12', '--progress');
  const seconds = (Date.now() - started) / 1000;
  const lines = run.stderr.split('\n').filter((l) => /^generate \d+\/12 steps \| [\d.]+ it\/s/.test(l));
  expect(lines[lines.length - 1]).toMatch(/^generate 12\/12 steps/);
  // One line per started 2 s of sampling (loading the models comes before the first).
  expect(lines.length).toBeGreaterThanOrEqual(Math.min(3, Math.floor(seconds / 2.5)));
});

test('--help shows the defaults and examples', async () => {
  const run = await runCli(['generate', '--help']);
  expect(run.stdout).toMatch(/main sampler steps \(default: 50\)/);
  expect(run.stdout.replace(/\s+/g, ' ')).toMatch(
    /guidance method \(sag, freedom, ug, none\) \(default: sag\)/,
  );
  expect(run.stdout).toMatch(/Examples:\n {2}sag generate --guidance class --target 7/);
  const stylize = await runCli(['stylize', '--help']);
  expect(stylize.stdout).toMatch(/main sampler steps \(default: 100\)/);
  expect(stylize.stdout.replace(/\s+/g, ' ')).toMatch(
    /\(default: 30\.\.69 of 100 steps, scaled to --steps\)/,
  );
});

test('a diverging run warns once, naming the step', async () => {
  const run = await generate('--guidance', 'class', '--target', '7', '--rho-scale', '1e9');
  expect(run.code).toBe(0);
  const warnings = run.stderr.match(
    /warning: main step \d+: the guidance update \(RMS [\d.e+]+\) is larger than the sample/g,
  );
  expect(warnings).toHaveLength(1);
});

test('with --compare, a warning is said once, not once per method', async () => {
  const run = await generate('--guidance', 'class', '--target', '7', '--compare', 'sag,none', '--cfg', '5');
  expect(run.code).toBe(0);
  expect(run.stderr.match(/--cfg 5 is ignored/g)).toHaveLength(1);
});
