import * as fs from 'fs';
import * as path from 'path';

let cached: string | null = null;

/** The directory of sag's package.json, found from this file both in the sources and in dist/. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate) && JSON.parse(fs.readFileSync(candidate, 'utf8')).name === 'sag')
      return (cached = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find sag's package.json above ${__dirname}`);
    dir = parent;
  }
}

export function packageVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version as string;
}
