import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { GifReader } from 'omggif';
import { readImageFile } from '../../lib/io/imageFile';
import { findFfmpeg } from '../../lib/video/ffmpeg';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';

let tmp: string;
const STYLE = path.join(__dirname, '..', '..', 'weights', 'examples', 'digit-style-8.png');

beforeAll(() => {
  tmp = makeTempDir('stylize-video');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface VideoReport {
  frames: number;
  framesPerMinute: number;
  perFrame: { index: number; styleLoss: number; baselineStyleLoss: number | null }[];
  flicker: { input: number; stylized: number; baseline: number | null; stylizedRelative: number };
}

/** `stylize-video --demo` on `frames` frames of `steps` steps into `out`, and further flags. */
const demoArgs = (frames: number, steps: number, out: string, ...extra: string[]) => [
  'stylize-video',
  '--demo',
  '--frames',
  String(frames),
  '--steps',
  String(steps),
  ...extra,
  '--out',
  out,
];

/** `stylize-video <input> --style STYLE` on `frames` frames of `steps` steps into `out`. */
const inputArgs = (input: string, frames: number, steps: number, out: string) => [
  'stylize-video',
  input,
  '--style',
  STYLE,
  '--frames',
  String(frames),
  '--steps',
  String(steps),
  '--out',
  out,
];

const readReport = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as VideoReport & {
    workers: number;
    batch: number;
    crossFrame: string | null;
  };

/** The largest difference of one pixel channel between two image files. */
function worstPixelDifference(a: string, b: string): number {
  const [x, y] = [a, b].map((file) => readImageFile(file).data);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

describe('sag stylize-video', () => {
  test('--demo: frames, GIFs and a report; every frame closer to the style than the unguided run', async () => {
    const out = path.join(tmp, 'demo');
    const run = await runCli(demoArgs(4, 30, out, '--baseline'));
    expect(run.code).toBe(0);
    for (const f of ['stylized.gif', 'input.gif', 'baseline.gif', 'report.json'])
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    expect(fs.readdirSync(path.join(out, 'frames'))).toEqual([
      '0000.png',
      '0001.png',
      '0002.png',
      '0003.png',
    ]);
    const gif = new GifReader(fs.readFileSync(path.join(out, 'stylized.gif')));
    expect([gif.numFrames(), gif.width, gif.height]).toEqual([4, 32, 32]);
    const report = readReport(out);
    expect(report.frames).toBe(4);
    for (const frame of report.perFrame)
      expect(frame.styleLoss).toBeLessThan(frame.baselineStyleLoss as number);
    expect(report.flicker.input).toBeGreaterThan(0);
    expect(report.flicker.stylizedRelative).toBeCloseTo(report.flicker.stylized / report.flicker.input, 6);
    expect(run.stderr).toContain("style loss lower than the unguided run's on 4 of 4 frames");

    // Four frames as one batch: the same unguided frames (same noise, own init images), guided ones still closer.
    const batched = path.join(tmp, 'demo-batch');
    const batchRun = await runCli(demoArgs(4, 30, batched, '--baseline', '--batch', '4'));
    expect(batchRun.code).toBe(0);
    const batchReport = readReport(batched);
    for (const frame of batchReport.perFrame)
      expect(frame.styleLoss).toBeLessThan(frame.baselineStyleLoss as number);
    for (const f of fs.readdirSync(path.join(out, 'baseline'))) {
      const worst = worstPixelDifference(path.join(out, 'baseline', f), path.join(batched, 'baseline', f));
      expect(worst).toBeLessThanOrEqual(1);
    }

    // The GIF it wrote is an input too (and a folder of frames is another).
    for (const input of [path.join(out, 'input.gif'), path.join(out, 'input')]) {
      const again = path.join(tmp, `again-${path.basename(input)}`);
      const second = await runCli(inputArgs(input, 2, 10, again));
      expect(second.code).toBe(0);
      expect(fs.readdirSync(path.join(again, 'frames'))).toHaveLength(2);
    }
  });

  test('--cross-frame: every frame in one generation, the first frame as without it, the mode in the report', async () => {
    const plain = path.join(tmp, 'cross-plain');
    const crossed = path.join(tmp, 'cross-first');
    expect((await runCli(demoArgs(3, 10, plain, '--batch', '3'))).code).toBe(0);
    const run = await runCli(demoArgs(3, 10, crossed, '--cross-frame', 'first'));
    expect(run.code).toBe(0);
    const report = readReport(crossed);
    expect(report.batch).toBe(3);
    expect(report.crossFrame).toBe('first');
    expect(readReport(plain).crossFrame).toBeNull();
    // Frame 0 attends to itself either way; the shared guidance step size (rho) is the batch's, so it may still
    // move by a little.
    const frame = (dir: string, i: number) => path.join(dir, 'frames', `000${i}.png`);
    expect(worstPixelDifference(frame(plain, 0), frame(crossed, 0))).toBeLessThanOrEqual(8);
    expect(worstPixelDifference(frame(plain, 2), frame(crossed, 2))).toBeGreaterThan(0);
  }, 300_000);

  test('--workers 2: worker processes stylize the same frames as one process', async () => {
    const single = path.join(tmp, 'single');
    expect((await runCli(demoArgs(4, 20, single))).code).toBe(0);
    const workers = path.join(tmp, 'workers');
    const root = path.join(__dirname, '..', '..');
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'bin', 'sag.ts'), ...demoArgs(4, 20, workers), '--workers', '2'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, SAG_WASM_THREADS: '2' } },
    );
    expect(child.stderr).toMatch(/stylized frames 4\/4 \(2 workers\)/);
    expect(child.status).toBe(0);
    expect(readReport(workers).workers).toBe(2);
    // Two processes of one thread each against one of two threads: the same frames up to float rounding.
    readReport(single).perFrame.forEach((frame, i) =>
      expect(Math.abs(readReport(workers).perFrame[i].styleLoss / frame.styleLoss - 1)).toBeLessThan(1e-3),
    );
    for (const name of fs.readdirSync(path.join(single, 'frames'))) {
      const worst = worstPixelDifference(
        path.join(single, 'frames', name),
        path.join(workers, 'frames', name),
      );
      expect(worst).toBeLessThanOrEqual(2);
    }
  }, 240_000);

  test("--overwrite replaces the folder sag wrote, and never a folder or file of the user's", async () => {
    const mine = path.join(tmp, 'my-folder');
    fs.mkdirSync(path.join(mine, 'keep'), { recursive: true });
    fs.writeFileSync(path.join(mine, 'keep', 'notes.txt'), 'notes');
    fs.writeFileSync(path.join(mine, 'mydata.csv'), 'a,b\n');
    const refused = await runCli(demoArgs(1, 2, mine, '--overwrite'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^sag: error: --out .*my-folder: was not written by sag/);
    expect(refused.stderr).not.toMatch(/backend:/); // refused before the model loaded
    expect(fs.readFileSync(path.join(mine, 'keep', 'notes.txt'), 'utf8')).toBe('notes');
    expect(fs.readFileSync(path.join(mine, 'mydata.csv'), 'utf8')).toBe('a,b\n');

    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'precious');
    const onFile = await runCli(demoArgs(1, 2, file, '--overwrite'));
    expect(onFile.stderr).toMatch(/a-file: is a file, expected a folder name/);
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');

    const out = path.join(tmp, 'rewritten');
    expect((await runCli(demoArgs(1, 2, out))).code).toBe(0);
    expect((await runCli(demoArgs(1, 2, out))).stderr).toMatch(/already exists \(pass --overwrite/);
    expect((await runCli(demoArgs(1, 2, out, '--overwrite'))).code).toBe(0);
    expect(fs.readdirSync(out)).toContain('report.json');
    expect(fs.statSync(out).mode & 0o777).toBe(0o777 & ~process.umask());
  }, 120_000);

  test('bad inputs: one line naming the input, no output folder', async () => {
    const out = path.join(tmp, 'bad');
    const cases: [string[], string][] = [
      [
        ['stylize-video', '--out', out],
        '<input>: expected a folder of frames, a .gif or a video (or --demo)',
      ],
      [
        ['stylize-video', path.join(tmp, 'missing.gif'), '--out', out],
        'missing.gif: file or folder not found',
      ],
      [
        ['stylize-video', '--demo', '--depth', tmp, '--out', out],
        '--depth: condition images need a ControlNet',
      ],
      [
        ['stylize-video', path.join(__dirname, 'stylizeVideo.spec.ts'), '--style', STYLE, '--out', out],
        'expected a folder of frames, a .gif, or an .mp4',
      ],
      [
        demoArgs(4, 5, out, '--cross-frame', 'first', '--batch', '2'),
        '--cross-frame first: every frame must be in one generation (--batch 4 or more, or leave --batch out), got --batch 2',
      ],
      [
        demoArgs(4, 5, out, '--cross-frame', 'previous', '--workers', '2'),
        '--cross-frame previous: the frames attend to each other, so they cannot be split across --workers 2',
      ],
      [
        demoArgs(4, 5, out, '--cross-frame', 'last'),
        "option '--cross-frame <mode>' argument 'last' is invalid",
      ],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(message);
    }
    expect(fs.existsSync(out)).toBe(false);
  });

  const ffmpeg = findFfmpeg();
  if (!ffmpeg)
    process.stdout.write(
      'stylize-video: mp4 tests skipped: no ffmpeg on this machine (.ci/install-ffmpeg)\n',
    );
  (ffmpeg ? test : test.skip)('--video writes an mp4 through ffmpeg, and an mp4 is an input', async () => {
    const out = path.join(tmp, 'mp4');
    const run = await runCli(demoArgs(3, 10, out, '--video', 'demo.mp4'));
    expect(run.code).toBe(0);
    expect(fs.statSync(path.join(out, 'demo.mp4')).size).toBeGreaterThan(0);
    const again = path.join(tmp, 'from-mp4');
    const second = await runCli(inputArgs(path.join(out, 'demo.mp4'), 3, 10, again));
    expect(second.code).toBe(0);
    expect(fs.readdirSync(path.join(again, 'frames'))).toHaveLength(3);
  });
});
