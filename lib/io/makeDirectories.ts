import * as fs from 'fs';
import * as path from 'path';

/**
 * Creates `dir` and whichever of its parents are missing, one level at a time, and returns the folders it
 * created (outermost first). Node 20's `fs.mkdirSync(dir, { recursive: true })` never returns under a pseudo file
 * system such as /proc (it spins at 100 % CPU); one level at a time fails at once with the level's own error.
 * A path that exists but is not a folder is an ENOTDIR error naming it.
 */
export function makeDirectories(dir: string): string[] {
  const missing: string[] = [];
  let level = path.resolve(dir);
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (stat) {
      if (!stat.isDirectory())
        throw Object.assign(new Error(`ENOTDIR: not a directory, '${level}'`), {
          code: 'ENOTDIR',
          path: level,
        });
      break;
    }
    missing.unshift(level);
    const parent = path.dirname(level);
    if (parent === level) break;
    level = parent;
  }
  for (const folder of missing) {
    try {
      fs.mkdirSync(folder);
    } catch (error) {
      // Another process may have made it in the meantime.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(folder).isDirectory())
        throw error;
    }
  }
  return missing;
}
