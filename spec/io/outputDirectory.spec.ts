import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { OUTPUT_RECORD, checkOutputDirectory, writeDirectoryAtomically } from '../../lib/io/outputDirectory';
import { makeTempDir } from '../helpers/tempDir';

let tmp: string;
beforeEach(() => {
  tmp = makeTempDir('output-directory');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes `files` (relative path -> content) under `dir`. */
function plant(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
}

/** Every file under `dir` with its content. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    out[path.relative(dir, full)] = fs.readFileSync(full, 'utf8');
  }
  return out;
}

const writeResult = (out: string, overwrite: boolean, text = 'result') =>
  writeDirectoryAtomically('--out', out, overwrite, 'a test', (dir) => {
    plant(dir, { 'frames/0000.png': text, 'report.json': '{}' });
  });

describe('output folders: all or nothing, and --overwrite replaces only what sag wrote', () => {
  test('a new folder holds the output and a record of what sag wrote, last', async () => {
    const out = path.join(tmp, 'a', 'b', 'out');
    await writeResult(out, false);
    expect(contents(out)['frames/0000.png']).toBe('result');
    const record = JSON.parse(fs.readFileSync(path.join(out, OUTPUT_RECORD), 'utf8')) as {
      entries: string[];
    };
    expect(record.entries).toEqual(['frames', 'report.json']);
    expect(fs.readdirSync(path.join(tmp, 'a', 'b'))).toEqual(['out']);
  });

  test('an existing folder is kept without --overwrite, replaced with it when sag wrote it', async () => {
    const out = path.join(tmp, 'out');
    await writeResult(out, false, 'first');
    await expect(writeResult(out, false, 'second')).rejects.toThrow(
      `--out ${out}: already exists (pass --overwrite to replace a folder that sag wrote)`,
    );
    expect(contents(out)['frames/0000.png']).toBe('first');
    await writeResult(out, true, 'second');
    expect(contents(out)['frames/0000.png']).toBe('second');
    expect(fs.readdirSync(tmp)).toEqual(['out']);
  });

  test("--overwrite never deletes a folder of the user's files", async () => {
    const out = path.join(tmp, 'mine');
    plant(out, { 'keep/notes.txt': 'notes', 'mydata.csv': 'a,b\n1,2\n' });
    const before = contents(out);
    await expect(writeResult(out, true)).rejects.toThrow(/mine: was not written by sag .*will not delete it/);
    expect(contents(out)).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual(['mine']);
  });

  test('--overwrite refuses a folder sag wrote once the user has put a file of theirs in it', async () => {
    const out = path.join(tmp, 'out');
    await writeResult(out, false);
    plant(out, { 'my-notes.txt': 'mine' });
    await expect(writeResult(out, true)).rejects.toThrow(/holds my-notes.txt, which sag did not write/);
    expect(contents(out)['my-notes.txt']).toBe('mine');
  });

  test('a file where the folder goes is never replaced, with or without --overwrite', async () => {
    const out = path.join(tmp, 'data.csv');
    fs.writeFileSync(out, 'precious');
    for (const overwrite of [false, true])
      await expect(writeResult(out, overwrite)).rejects.toThrow(
        /data.csv: is a file, expected a folder name/,
      );
    expect(fs.readFileSync(out, 'utf8')).toBe('precious');
  });

  test('a link, the working folder, a folder holding it and the home folder are refused', async () => {
    const real = path.join(tmp, 'real');
    await writeResult(real, false);
    fs.symlinkSync(real, path.join(tmp, 'link'));
    expect(() => checkOutputDirectory('--out', path.join(tmp, 'link'), true)).toThrow(/is a symbolic link/);
    expect(() => checkOutputDirectory('--out', '.', true)).toThrow('--out .: is the working folder');
    expect(() => checkOutputDirectory('--out', '..', true)).toThrow('--out ..: holds the working folder');
    expect(() => checkOutputDirectory('--out', '/', true)).toThrow(/root of the file system/);
    expect(() => checkOutputDirectory('--out', os.homedir(), true)).toThrow(/home folder|working folder/);
  });

  test('an empty folder is simply used', async () => {
    const out = path.join(tmp, 'empty');
    fs.mkdirSync(out);
    await writeResult(out, false);
    expect(contents(out)['report.json']).toBe('{}');
  });

  test('a failed write leaves nothing: no output, no temporary folder, no parents it made', async () => {
    const out = path.join(tmp, 'new', 'out');
    await expect(
      writeDirectoryAtomically('--out', out, false, 'a test', (dir) => {
        plant(dir, { 'half.png': 'x' });
        throw new Error('the run failed');
      }),
    ).rejects.toThrow('the run failed');
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test('a path under a pseudo file system fails at once with one line (no hang)', () => {
    const start = Date.now();
    expect(() => checkOutputDirectory('--out', '/proc/sub/v', false)).toThrow(
      /^--out \/proc\/sub\/v: cannot create a folder there \(no such file or folder, ENOENT\)$/,
    );
    expect(Date.now() - start).toBeLessThan(2000);
  });
});
