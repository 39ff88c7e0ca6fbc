import * as fs from 'fs';
import * as path from 'path';
import { embeddedModelDir } from '../../lib/pipeline/embeddedModels';
import { SAG_MANIFEST_VERSION, validateSagManifest } from '../../lib/models/sagManifest';
import { readSagManifest, writeSagManifest } from '../../lib/models/sagManifestFile';
import { runCli } from '../helpers/runCli';
import { copyDir, makeTempDir } from '../helpers/tempDir';

const classifier = () =>
  JSON.parse(fs.readFileSync(path.join(embeddedModelDir('digit-classifier'), 'sag.json'), 'utf8')) as Record<
    string,
    unknown
  >;

describe('sag.json: one schema for every converter and loader', () => {
  test('the embedded models validate and read typed', () => {
    expect(readSagManifest(embeddedModelDir('digit-unet'), 'sag-pixel-diffusion').range).toEqual([-1, 1]);
    expect(readSagManifest(embeddedModelDir('digit-classifier'), 'sag-classifier').classes).toBe(10);
    expect(readSagManifest(embeddedModelDir('digit-evaluator'), 'sag-classifier').imageSize).toBe(32);
  });

  test('a sag.json from a newer sag is refused with what to do', () => {
    expect(() =>
      validateSagManifest({ ...classifier(), version: SAG_MANIFEST_VERSION + 1 }, 'm/sag.json'),
    ).toThrow(
      /m\/sag.json: written by a newer sag \(sag.json version 2; this sag reads version 1\): upgrade sag/,
    );
  });

  test.each([
    [{ version: undefined }, /'version' must be a positive integer/],
    [{ format: 'sag-video' }, /unknown format "sag-video", expected one of sag-stable-diffusion/],
    [{ classes: '10' }, /'classes' must be a number, got "10"/],
    [{ inputRange: [0, 1, 2] }, /'inputRange' must be two numbers/],
    [{ layout: 'NCHW' }, /'layout' must be "NHWC"/],
  ])('%j is an error naming the field', (change, message) => {
    expect(() => validateSagManifest({ ...classifier(), ...change }, 'm/sag.json')).toThrow(message);
  });

  test('the expected format is checked', () => {
    expect(() => readSagManifest(embeddedModelDir('digit-classifier'), 'sag-clip')).toThrow(
      /expected a 'sag-clip' directory, found 'sag-classifier'/,
    );
  });

  test('writers cannot write what the loaders would refuse', () => {
    const dir = makeTempDir('sag-manifest');
    const bad = { ...classifier(), classes: null } as unknown as Parameters<typeof writeSagManifest>[1];
    expect(() => writeSagManifest(dir, bad)).toThrow(/'classes' must be a number/);
    expect(fs.existsSync(path.join(dir, 'sag.json'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('model options that point at the wrong thing', () => {
  test('--classifier that does not exist is an error, not silently ignored', async () => {
    const run = await runCli([
      'generate',
      '--guidance',
      'class',
      '--classifier',
      '/nonexistent/cls',
      '--out',
      '/tmp/x.png',
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--classifier \/nonexistent\/cls: model directory not found/);
  });

  test('--model pointing at a classifier says it is not a diffusion model', async () => {
    const run = await runCli([
      'generate',
      '--model',
      embeddedModelDir('digit-classifier'),
      '--out',
      '/tmp/x.png',
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /--model .*digit-classifier: a 'sag-classifier' directory is not a diffusion model/,
    );
  });

  test('--model whose sag.json is from a newer sag names the option and the version', async () => {
    const dir = makeTempDir('newer-model');
    copyDir(embeddedModelDir('digit-unet'), dir);
    const file = path.join(dir, 'sag.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), version: 7 }));
    const run = await runCli(['generate', '--model', dir, '--out', path.join(dir, 'x.png')]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--model .*sag.json: written by a newer sag \(sag.json version 7/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
