// Builds the browser page into dist/web: one bundle of web/main.ts and the library code it uses (esbuild), the
// page's HTML and CSS, and tfjs's wasm binaries. Fails when anything of sag's in the bundle imports a Node module.
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';
import * as zlib from 'zlib';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// `node web/build.mjs [outDir [entry]]`: dist/web and web/main.ts unless told (the tests build their own copies).
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'web'));
const entry = path.resolve(process.argv[3] ?? path.join(root, 'web', 'main.ts'));
const nodeModules = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Modules with a `.browser.ts` sibling (e.g. lib/io/directoryModelFiles) are replaced by it in the bundle. */
const browserVariants = {
  name: 'browser-variants',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const variant = path.resolve(args.resolveDir, `${args.path}.browser.ts`);
      return fs.existsSync(variant) ? { path: variant } : undefined;
    });
  },
};

/** sag's own code must not reach Node-only modules (packages map theirs away with their "browser" fields). */
const noNodeModules = {
  name: 'no-node-modules',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:]+$/ }, (args) => {
      if (!nodeModules.has(args.path) || args.importer.includes(`${path.sep}node_modules${path.sep}`))
        return undefined;
      return {
        errors: [
          {
            text: `${path.relative(root, args.importer)} imports the Node module '${args.path}': the browser bundle must not (move the Node part to its own module)`,
          },
        ],
      };
    });
  },
};

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'wasm'), { recursive: true });
const result = await esbuild
  .build({
    entryPoints: { page: entry },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    outdir: out,
    metafile: true,
    logLevel: 'warning',
    plugins: [browserVariants, noNodeModules],
  })
  .catch(() => process.exit(1)); // esbuild has printed the errors
fs.copyFileSync(path.join(root, 'web', 'index.html'), path.join(out, 'index.html'));
const wasmDist = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
for (const file of fs.readdirSync(wasmDist).filter((f) => f.endsWith('.wasm')))
  fs.copyFileSync(path.join(wasmDist, file), path.join(out, 'wasm', file));

const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => !file.endsWith('.map'))
  .map(([file, info]) => {
    const bytes = fs.readFileSync(path.resolve(file));
    return {
      file: path.relative(out, path.resolve(file)),
      bytes: info.bytes,
      gzipBytes: zlib.gzipSync(bytes).length,
    };
  });
fs.writeFileSync(path.join(out, 'bundle-size.json'), JSON.stringify(sizes, null, 2));
const mib = (b) => (b > 1 << 20 ? `${(b / 1024 / 1024).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
for (const s of sizes)
  console.log(
    `web: ${path.relative(process.cwd(), path.join(out, s.file))} ${mib(s.bytes)} (gzip ${mib(s.gzipBytes)})`,
  );
