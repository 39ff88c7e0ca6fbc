import * as fs from 'fs';
import * as path from 'path';
import { MissingModelFile, ModelFiles } from './modelFiles';

/** Model files in a local directory (Node). A browser bundle gets directoryModelFiles.browser.ts instead. */
export function directoryModelFiles(dir: string): ModelFiles {
  const file = (name: string) => path.join(dir, name);
  const missing = (name: string) => new MissingModelFile(`${file(name)}: file missing`);
  return {
    location: dir,
    at: (name) => directoryModelFiles(file(name)),
    readText: async (name) => {
      if (!fs.existsSync(file(name))) throw missing(name);
      return fs.readFileSync(file(name), 'utf8');
    },
    readBytes: async (name) => {
      if (!fs.existsSync(file(name))) throw missing(name);
      const b = fs.readFileSync(file(name));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
    has: async (name) => fs.existsSync(file(name)),
  };
}
