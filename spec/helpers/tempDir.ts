import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sag-${prefix}-`));
}

/** Copies a directory tree. */
export function copyDir(src: string, dst: string): void {
  fs.cpSync(src, dst, { recursive: true });
}
