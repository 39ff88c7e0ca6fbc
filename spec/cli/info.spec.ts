import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { readImageFile } from '../../lib/io/imageFile';
import { parseParameters } from '../../lib/io/generationParameters';
import { readPngText, withPngText } from '../../lib/io/pngText';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import { testBackendName } from '../helpers/testBackend';

let dir: string;
beforeAll(() => {
  dir = makeTempDir('info');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a tEXt chunk survives decoding and reads back', () => {
  const png = fs.readFileSync(path.join(__dirname, '..', '..', 'weights', 'examples', 'digit-style-0.png'));
  const tagged = withPngText(png, 'parameters', 'a cat\nSteps: 5');
  expect(readPngText(tagged)).toEqual({ parameters: 'a cat\nSteps: 5' });
  expect(readImageFile(writeTemp(tagged)).width).toBe(32);
});

function writeTemp(bytes: Buffer): string {
  const file = path.join(dir, `t${Math.random().toString(36).slice(2)}.png`);
  fs.writeFileSync(file, bytes);
  return file;
}

test('sag info prints what generate recorded; --from reproduces the bytes; flags given win', async () => {
  const first = path.join(dir, 'first.png');
  const args = [
    '--backend',
    testBackendName(),
    '--guidance',
    'class',
    '--target',
    '3',
    '--num',
    '2',
    '--steps',
    '4',
  ];
  expect((await runCli(['generate', ...args, '--seed', '9', '--upscale', '2', '--out', first])).code).toBe(0);

  const info = await runCli(['info', first]);
  expect(info.code).toBe(0);
  expect(info.stdout).toMatch(/Steps: 4, Sampler: ddim, CFG scale: 1, Seed: 9/);
  expect(info.stdout).toMatch(/Guidance: class, Method: sag, n: 4/);
  expect(info.stdout).toMatch(/rerun: sag generate --from .*first.png/);

  const again = path.join(dir, 'again.png');
  const rerun = await runCli(['generate', '--backend', testBackendName(), '--from', first, '--out', again]);
  expect(rerun.code).toBe(0);
  expect(fs.readFileSync(again).equals(fs.readFileSync(first))).toBe(true);

  const other = path.join(dir, 'other.png');
  expect(
    (
      await runCli([
        'generate',
        '--backend',
        testBackendName(),
        '--from',
        first,
        '--seed',
        '10',
        '--out',
        other,
      ])
    ).code,
  ).toBe(0);
  const recorded = parseParameters(readPngText(fs.readFileSync(other)).parameters ?? '');
  expect(recorded?.options.seed).toBe(10);
  expect(recorded?.options.target).toBe('3');
  expect(recorded?.upscale).toBe(2);
  expect(fs.readFileSync(other).equals(fs.readFileSync(first))).toBe(false);
});

test('sag info describes a converted model directory', async () => {
  const run = await runCli(['info', path.join(__dirname, '..', '..', 'weights', 'digit-unet')]);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(
    /sag-pixel-diffusion\n {2}unet: 0\.40 M parameters \(float32\), \d+ graph nodes, [\d.]+ MiB; VJP graph w\.r\.t\. sample of out \(\d+ more nodes\)/,
  );
});

test('bad inputs: one error line', async () => {
  const plain = path.join(__dirname, '..', '..', 'weights', 'examples', 'digit-style-0.png');
  const noSettings = await runCli(['info', plain]);
  expect(noSettings.code).toBe(2);
  expect(noSettings.stderr).toMatch(/no generation settings recorded/);
  const from = await runCli(['generate', '--from', plain, '--out', path.join(dir, 'x.png')]);
  expect(from.stderr).toMatch(/--from .*digit-style-0.png: no sag settings in this image/);
  expect((await runCli(['info', path.join(dir, 'missing')])).stderr).toMatch(/missing: not found/);
});

describe('sag info on files that are not whole sag PNGs', () => {
  test('a file that is not a PNG, and a truncated PNG, are errors; --json gives the record', async () => {
    const dir = makeTempDir('info-files');
    const out = path.join(dir, 'x.png');
    const made = await runCli([
      'generate',
      '--backend',
      testBackendName(),
      '--steps',
      '2',
      '--seed',
      '4',
      '--out',
      out,
    ]);
    expect(made.code).toBe(0);
    const bytes = fs.readFileSync(out);
    fs.writeFileSync(path.join(dir, 'cut.png'), bytes.subarray(0, bytes.length - 20));
    const cut = await runCli(['info', path.join(dir, 'cut.png')]);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(/cut.png: the PNG is truncated/);
    expect(cut.stdout).toBe('');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    expect((await runCli(['info', path.join(dir, 'notes.txt')])).stderr).toMatch(/notes.txt: not a PNG/);
    const shown = await runCli(['info', out]);
    expect(shown.stdout).not.toMatch(/^\n/);
    expect(shown.stdout).toMatch(/^ {2}seed: 4$/m);
    expect(shown.stdout).toMatch(/made by: sag .* on wasm \(/);
    const json = JSON.parse((await runCli(['info', '--json', out])).stdout) as {
      options: { seed: number };
      environment: { backend: string; tfjs: string };
    };
    expect(json.options.seed).toBe(4);
    // A record made with other kernels or another tfjs: --from says so, naming the difference.
    const elsewhere = { ...json, environment: { backend: 'wasm (XNNPACK, 8 threads)', tfjs: '4.21.0' } };
    const other = path.join(dir, 'other.png');
    const blank = PNG.sync.write(new PNG({ width: 2, height: 2 }));
    fs.writeFileSync(other, withPngText(blank, 'parameters', `\nsag: ${JSON.stringify(elsewhere)}`));
    const rerun = await runCli([
      'generate',
      '--backend',
      testBackendName(),
      '--from',
      other,
      '--out',
      path.join(dir, 'again.png'),
    ]);
    expect(rerun.stderr).toMatch(
      /warning: .*other.png was made on wasm \(XNNPACK, 8 threads\), this run is on wasm \(/,
    );
    expect(rerun.stderr).toMatch(/warning: .*other.png was made with tfjs 4.21.0, this run uses 4.22.0/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
