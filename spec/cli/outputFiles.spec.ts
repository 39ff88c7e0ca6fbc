import * as fs from 'fs';
import * as path from 'path';
import { readImageFile } from '../../lib/io/imageFile';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import { testBackendName } from '../helpers/testBackend';

const quick = ['generate', '--backend', testBackendName(), '--steps', '2'];

describe('output paths are checked before any work, and nothing partial is left', () => {
  test('an --out that cannot be written fails at once, naming the path', async () => {
    const run = await runCli([...quick, '--out', '/proc/sag-test.png']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^sag: error: --out \/proc\/sag-test.png: cannot write in \/proc/m);
    expect(run.stderr).not.toMatch(/tmp|probe/);
    expect(run.stderr).not.toMatch(/backend:/); // failed before the models loaded
  });

  test('an unwritable --report fails before sampling and leaves no image', async () => {
    const dir = makeTempDir('outputs');
    const out = path.join(dir, 'digit.png');
    const run = await runCli([...quick, '--out', out, '--report', '/proc/sag-test.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--report \/proc\/sag-test.json: cannot write/);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('outputs under a folder that cannot exist (a pseudo file system) fail at once, with one line each', async () => {
    const dir = makeTempDir('outputs');
    const cases: [string[], RegExp][] = [
      [
        [...quick, '--out', '/proc/sub/x.png'],
        /^sag: error: --out \/proc\/sub\/x.png: cannot write in \/proc\/sub \(/,
      ],
      [
        [...quick, '--out', path.join(dir, 'x.png'), '--report', '/proc/sub/r.json'],
        /^sag: error: --report \/proc\/sub\/r.json: cannot write in \/proc\/sub \(/,
      ],
      [
        ['stylize-video', '--demo', '--frames', '1', '--steps', '2', '--out', '/proc/sub/v'],
        /^sag: error: --out \/proc\/sub\/v: cannot create a folder there \(/,
      ],
      [
        ['eval', 'estimate', '--samples', '2', '--out-dir', '/proc/est'],
        /^sag: error: --out-dir \/proc\/est: cannot write there/,
      ],
      [
        ['eval', 'guidance', '--out-dir', '/proc/evg'],
        /^sag: error: --out-dir \/proc\/evg: cannot write there/,
      ],
    ];
    for (const [args, message] of cases) {
      const start = Date.now();
      const run = await runCli(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1); // failed before a model loaded
      expect(Date.now() - start).toBeLessThan(5000);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('eval guidance that fails on a bad target leaves no folder behind', async () => {
    const dir = makeTempDir('outputs');
    const out = path.join(dir, 'evg');
    const run = await runCli(['eval', 'guidance', '--targets', '11', '--num', '1', '--out-dir', out]);
    expect(run.code).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('wrong extensions and a directory as --out are refused', async () => {
    const dir = makeTempDir('outputs');
    expect((await runCli([...quick, '--out', path.join(dir, 'x.gif')])).stderr).toMatch(
      /--out .*x.gif: expected a .png, .jpg or .jpeg file name/,
    );
    expect(
      (await runCli([...quick, '--out', path.join(dir, 'x.png'), '--report', path.join(dir, 'r.txt')]))
        .stderr,
    ).toMatch(/--report .*r.txt: expected a .json file name/);
    fs.mkdirSync(path.join(dir, 'd.png'));
    expect((await runCli([...quick, '--out', path.join(dir, 'd.png')])).stderr).toMatch(/is a directory/);
    expect(fs.readdirSync(dir)).toEqual(['d.png']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('--upscale enlarges the written image, and the report and image are both written', async () => {
    const dir = makeTempDir('outputs');
    const out = path.join(dir, 'digit.png');
    const report = path.join(dir, 'run.json');
    const run = await runCli([...quick, '--upscale', '3', '--out', out, '--report', report]);
    expect(run.code).toBe(0);
    expect(readImageFile(out).width).toBe(96);
    expect(JSON.parse(fs.readFileSync(report, 'utf8')).upscale).toBe(3);
    expect(fs.readdirSync(dir).sort()).toEqual(['digit.png', 'run.json']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
