import * as fs from 'fs';
import * as path from 'path';

function errorCode(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}` : e instanceof Error ? e.message.split('\n')[0] : String(error);
}

/** ['.png', '.jpg', '.jpeg'] -> '.png, .jpg or .jpeg'. */
function listed(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/**
 * Checks, before any work, that `file` can be written: its extension is one of `extensions`, it is not a
 * directory, and a file can really be created in its directory (probed by creating and removing one, which is
 * the only check that holds for root and for special file systems such as /proc). Missing parent directories
 * are created, as the final write would. Errors name `flag` and the user's path.
 */
export function checkOutputPath(flag: string, file: string, extensions: string[]): void {
  const ext = path.extname(file).toLowerCase();
  if (!extensions.includes(ext))
    throw new Error(`${flag} ${file}: expected a ${listed(extensions)} file name`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory())
    throw new Error(`${flag} ${file}: is a directory, expected a file name`);
  const dir = path.dirname(path.resolve(file));
  const probe = path.join(dir, `.${path.basename(file)}.${process.pid}.probe`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(probe, '');
  } catch (error) {
    throw new Error(`${flag} ${file}: cannot write in ${dir} (${errorCode(error)})`);
  } finally {
    fs.rmSync(probe, { force: true });
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
        fs.mkdirSync(dir, { recursive: true });
        staged.push({ tmp, file: output.file });
        fs.writeFileSync(tmp, output.data);
      } catch (error) {
        throw new Error(`${output.flag} ${output.file}: cannot write (${errorCode(error)})`);
      }
    }
    for (const { tmp, file } of staged) fs.renameSync(tmp, file);
  } finally {
    for (const { tmp } of staged) fs.rmSync(tmp, { force: true });
  }
}
