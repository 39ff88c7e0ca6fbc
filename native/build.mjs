// Builds sag's optional native kernels (native/sag_blas.c) with node-gyp when the package is installed.
// Never fails the install: without a compiler, Node's headers or a BLAS library sag runs its wasm kernels, and this
// prints one line saying why.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const here = path.dirname(new URL(import.meta.url).pathname);

function nodeGypScript() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((file) => file && fs.existsSync(file));
}

function skip(reason) {
  console.log(`sag: native kernels not built (${reason}); sag uses its wasm kernels`);
  process.exit(0);
}

if (process.env.SAG_SKIP_NATIVE_BUILD === '1') skip('SAG_SKIP_NATIVE_BUILD=1');
if (process.platform === 'win32') skip('not supported on Windows yet');
const script = nodeGypScript();
if (!script) skip("npm's node-gyp was not found");
// Node's own headers where they are installed beside it (Debian's nodejs, nodesource): node-gyp would otherwise
// download them.
const prefix = path.join(path.dirname(process.execPath), '..');
const localHeaders = fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'));
const nodedir = process.env.npm_config_nodedir || (localHeaders ? prefix : undefined);
// glibc's vector maths (libmvec) for the GroupNorm's exp on x86-64 Linux; a second build goes without it.
const glibc =
  process.platform === 'linux' &&
  process.arch === 'x64' &&
  process.report.getReport().header.glibcVersionRuntime;
const build = (extra) =>
  spawnSync(
    process.execPath,
    [script, 'rebuild', '--loglevel=error', ...(nodedir ? [`--nodedir=${nodedir}`] : []), ...extra],
    {
      cwd: here,
      encoding: 'utf8',
    },
  );
let result = build(glibc ? ['--', '-Dsag_libmvec=1'] : []);
if (result.status !== 0 && glibc) result = build([]);
if (result.status !== 0) {
  const lines = `${result.stderr}\n${result.stdout}`.split('\n');
  const cause =
    lines.find((l) => /error:/i.test(l)) ?? lines.find((l) => /ERR!/.test(l)) ?? `exit ${result.status}`;
  skip(`node-gyp failed: ${cause.replace(/^gyp ERR! (stack )?/, '').trim()}`);
}
console.log('sag: built native kernels (native/build/Release/sag_blas.node)');
