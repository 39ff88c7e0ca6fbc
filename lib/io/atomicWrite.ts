import * as fs from 'fs';
import * as path from 'path';
import { makeDirectories } from './makeDirectories';

/** Writes a file through a temporary name in the same directory and renames it: no partial files on failure. */
export function writeFileAtomically(file: string, data: Buffer | string): void {
  const dir = path.dirname(path.resolve(file));
  makeDirectories(dir);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
