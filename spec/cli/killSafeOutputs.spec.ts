import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { OUTPUT_RECORD } from '../../lib/io/outputDirectory';
import { repoFixtureDir } from '../helpers/fixtures';
import { makeTempDir } from '../helpers/tempDir';

const root = path.join(__dirname, '..', '..');

/** Starts `sag <args>` and SIGKILLs it after `afterMs` (or lets it finish); resolves when it has exited. */
function runAndKill(args: string[], afterMs: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bin', 'sag.ts'), ...args], {
      cwd: root,
      stdio: 'ignore',
      env: { ...process.env, SAG_WASM_THREADS: '1' },
    });
    let killed = false;
    const timer = setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, afterMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ killed, code });
    });
  });
}

/** What a later run would find at `out`: nothing, or a complete folder whose record lists all it holds. */
function expectCompleteOrAbsent(out: string): 'complete' | 'absent' {
  if (!fs.existsSync(out)) return 'absent';
  const record = JSON.parse(fs.readFileSync(path.join(out, OUTPUT_RECORD), 'utf8')) as { entries: string[] };
  expect(
    fs
      .readdirSync(out)
      .filter((e) => e !== OUTPUT_RECORD)
      .sort(),
  ).toEqual(record.entries);
  for (const entry of record.entries) expect(fs.existsSync(path.join(out, entry))).toBe(true);
  return 'complete';
}

describe('outputs survive SIGKILL at any moment: complete, or absent', () => {
  test('stylize-video --out and generate --out/--report, killed at spread-out moments', async () => {
    const dir = makeTempDir('kill');
    const seen = new Set<string>();
    // From before the models load to after the write (one run of each takes ~3-6 s here).
    for (const [i, ms] of [300, 1500, 2500, 3500, 5000, 9000].entries()) {
      const video = path.join(dir, `video-${i}`);
      const run = await runAndKill(
        ['stylize-video', '--demo', '--frames', '2', '--steps', '3', '--out', video],
        ms,
      );
      if (!run.killed) expect(run.code).toBe(0);
      seen.add(`video ${run.killed ? 'killed' : 'finished'}, ${expectCompleteOrAbsent(video)}`);
      const image = path.join(dir, `image-${i}.png`);
      const report = path.join(dir, `image-${i}.json`);
      await runAndKill(['generate', '--steps', '6', '--out', image, '--report', report], ms);
      // Each file is whole or absent: written under a temporary name and renamed.
      if (fs.existsSync(image))
        expect(fs.readFileSync(image).subarray(-8).toString('latin1')).toContain('IEND');
      if (fs.existsSync(report)) expect(() => JSON.parse(fs.readFileSync(report, 'utf8'))).not.toThrow();
    }
    // Nothing half-written kept a final name; only hidden temporary names can remain.
    for (const entry of fs.readdirSync(dir))
      expect(entry).toMatch(/^(video-\d|image-\d\.(png|json)|\..*\.(sag-tmp-.*|\d+\.tmp))$/);
    process.stdout.write(`kill-safe outputs: ${[...seen].join('; ')}\n`);
    // Some runs were killed before their folder was in place, and a run left alone finished it.
    expect(seen).toContain('video killed, absent');
    expect(seen).toContain('video finished, complete');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 240_000);

  test('sag convert --out, killed at spread-out moments: a complete model folder or none', async () => {
    const dir = makeTempDir('kill-convert');
    const onnx = path.join(repoFixtureDir(), 'arcface-tiny', 'model.onnx');
    const seen = new Set<string>();
    for (const [i, ms] of [200, 1200, 2200, 3200, 15000].entries()) {
      const out = path.join(dir, `arcface-${i}`);
      const run = await runAndKill(['convert', 'arcface', onnx, '--out', out], ms);
      if (!run.killed) expect(run.code).toBe(0);
      const state = expectCompleteOrAbsent(out);
      if (state === 'complete') expect(fs.existsSync(path.join(out, 'sag.json'))).toBe(true);
      seen.add(`${run.killed ? 'killed' : 'finished'}, ${state}`);
    }
    process.stdout.write(`kill-safe convert: ${[...seen].join('; ')}\n`);
    expect(seen).toContain('finished, complete');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 240_000);
});
