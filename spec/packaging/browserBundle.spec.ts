import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeTempDir } from '../helpers/tempDir';

// The browser page's bundle (web/build.mjs, esbuild): what it holds, and that sag's code in it reaches no Node
// module (file system, zlib, Buffer...). The page itself is driven in a browser by spec/web/browserPage.spec.ts.
const root = path.join(__dirname, '..', '..');

function build(out: string, entry?: string) {
  return spawnSync(process.execPath, [path.join(root, 'web', 'build.mjs'), out, ...(entry ? [entry] : [])], {
    encoding: 'utf8',
  });
}

describe('browser bundle', () => {
  test('builds the page, its styles, the wasm binaries and a size report', () => {
    const out = makeTempDir('web');
    const result = build(out);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/page\.js \d+\.\d+ MiB \(gzip \d+\.\d KiB\)/);
    for (const file of ['index.html', 'page.js', 'page.css', 'bundle-size.json'])
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    expect(fs.readdirSync(path.join(out, 'wasm')).sort()).toEqual([
      'tfjs-backend-wasm-simd.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm',
      'tfjs-backend-wasm.wasm',
    ]);
    const sizes = JSON.parse(fs.readFileSync(path.join(out, 'bundle-size.json'), 'utf8')) as {
      file: string;
      bytes: number;
      gzipBytes: number;
    }[];
    const script = sizes.find((s) => s.file === 'page.js');
    expect(script?.bytes).toBe(fs.statSync(path.join(out, 'page.js')).size);
    expect(script?.gzipBytes).toBeLessThan(script?.bytes as number);
    // The model loaders' directory reader is replaced by its browser variant.
    expect(fs.readFileSync(path.join(out, 'page.js'), 'utf8')).toContain(
      'a browser cannot read local directories',
    );
  }, 120_000);

  test('sag code that imports a Node module fails the build, naming the file and the module', () => {
    const out = makeTempDir('web-bad');
    const entry = path.join(out, 'entry.ts');
    fs.writeFileSync(
      entry,
      `import { readSagManifest } from ${JSON.stringify(path.join(root, 'lib', 'models', 'sagManifestFile'))};\nconsole.log(readSagManifest);\n`,
    );
    const result = build(path.join(out, 'web'), entry);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("lib/models/sagManifestFile.ts imports the Node module 'fs'");
    expect(fs.existsSync(path.join(out, 'web', 'page.js'))).toBe(false);
  }, 120_000);
});
