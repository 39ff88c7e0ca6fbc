import * as fs from 'fs';
import * as path from 'path';
import { fileErrorText } from './fileErrors';
import { makeDirectories } from './makeDirectories';
import { probeWritableFolder } from './writableFolder';

/** ['.png', '.jpg', '.jpeg'] -> '.png, .jpg or .jpeg'. */
function listed(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/**
 * Checks, before any work, that `file` can be written: its extension is one of `extensions`, it is not a
 * directory, and its directory can be written (probed in the deepest part of the path that exists, which is the
 * only check that holds for root and for special file systems such as /proc). Creates nothing: missing parent
 * folders are made by the final write. Errors name `flag` and the user's path.
 */
export function checkOutputPath(flag: string, file: string, extensions: string[]): void {
  const ext = path.extname(file).toLowerCase();
  if (!extensions.includes(ext))
    throw new Error(`${flag} ${file}: expected a ${listed(extensions)} file name`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory())
    throw new Error(`${flag} ${file}: is a directory, expected a file name`);
  if (fs.existsSync(file) && !fs.statSync(file).isFile())
    throw new Error(`${flag} ${file}: is not a regular file, expected a file name`);
  const dir = path.dirname(path.resolve(file));
  try {
    probeWritableFolder(dir);
  } catch (error) {
    throw new Error(`${flag} ${file}: cannot write in ${path.dirname(file)} (${fileErrorText(error)})`);
  }
}

/**
 * Checks, before any work, that files can be written into the folder `dir` (which may not exist yet): it is not a
 * file, and it (or the deepest part of its path that exists) can be written. Creates nothing.
 */
export function checkOutputFolder(flag: string, dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
    throw new Error(`${flag} ${dir}: is a file, expected a folder`);
  try {
    probeWritableFolder(dir);
  } catch (error) {
    throw new Error(`${flag} ${dir}: cannot write there (${fileErrorText(error)})`);
  }
}

export interface OutputFile {
  /** The flag that named it, for messages (e.g. '--out'). */
  flag: string;
  file: string;
  data: Buffer | string;
}

/**
 * Writes several files all or nothing: each goes to a temporary name beside its target first; only when all are
 * written are they renamed into place. On failure no target is created and no temporary file is left; the error
 * names the user's path.
 */
export function writeFilesTogether(outputs: OutputFile[]): void {
  const staged: { tmp: string; file: string }[] = [];
  try {
    for (const output of outputs) {
      const dir = path.dirname(path.resolve(output.file));
      const tmp = path.join(dir, `.${path.basename(output.file)}.${process.pid}.tmp`);
      try {
        makeDirectories(dir);
        staged.push({ tmp, file: output.file });
        fs.writeFileSync(tmp, output.data);
      } catch (error) {
        throw new Error(`${output.flag} ${output.file}: cannot write (${fileErrorText(error)})`);
      }
    }
    for (const { tmp, file } of staged) fs.renameSync(tmp, file);
  } finally {
    for (const { tmp } of staged) fs.rmSync(tmp, { force: true });
  }
}
