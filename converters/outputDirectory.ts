import * as fs from 'fs';
import * as path from 'path';

/**
 * Runs `write` into a fresh temporary directory beside `outDir` and renames it to `outDir` only when it
 * succeeds, so a failed conversion leaves nothing behind. An existing non-empty `outDir` is an error unless
 * `overwrite`.
 */
export async function writeAtomically<T>(
  outDir: string,
  overwrite: boolean,
  write: (tmpDir: string) => Promise<T> | T,
): Promise<T> {
  const target = path.resolve(outDir);
  if (fs.existsSync(target)) {
    const empty = fs.statSync(target).isDirectory() && fs.readdirSync(target).length === 0;
    if (!empty && !overwrite)
      throw new Error(`${outDir}: output directory already exists (pass --overwrite to replace it)`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = fs.mkdtempSync(`${target}.tmp-`);
  try {
    const result = await write(tmp);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(tmp, target);
    return result;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
