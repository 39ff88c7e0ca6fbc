import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The deepest of `dir` and its parents that exists (`dir` itself when it exists). */
export function nearestExistingFolder(dir: string): string {
  let level = path.resolve(dir);
  while (!fs.existsSync(level) && path.dirname(level) !== level) level = path.dirname(level);
  return level;
}

/**
 * Throws the file-system error that creating something in `dir` would meet, without creating `dir` or its
 * parents: a folder is made and removed in the deepest part of the path that exists (the only check that holds
 * for root, read-only mounts and pseudo file systems such as /proc).
 */
export function probeWritableFolder(dir: string): void {
  const existing = nearestExistingFolder(dir);
  if (!fs.statSync(existing).isDirectory())
    throw Object.assign(new Error(`ENOTDIR: not a directory, '${existing}'`), { code: 'ENOTDIR' });
  const probe = path.join(existing, `.sag-probe-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(probe);
  fs.rmdirSync(probe);
}
