/* eslint-disable @typescript-eslint/no-require-imports -- the addon is optional and found at run time */
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../packageRoot';
import { NativeBlasFunctions, setNativeMatrixProducts } from './nativeMatrixProducts';

/** Turns the native products off (`0`) or names the BLAS library to open. */
export const NATIVE_BLAS_VARIABLE = 'SAG_NATIVE_BLAS';

/** Optimised CBLAS libraries, in order; the reference BLAS (libblas.so.3) is slower than wasm and not tried. */
const LIBRARIES: Record<string, string[]> = {
  linux: [
    'libopenblas.so.0',
    'libopenblas.so',
    'libopenblasp-r0.so',
    'libmkl_rt.so.2',
    'libmkl_rt.so',
    'libblis.so.4',
    'libblis.so',
  ],
  darwin: [
    '/System/Library/Frameworks/Accelerate.framework/Accelerate',
    '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
    '/usr/local/opt/openblas/lib/libopenblas.dylib',
  ],
};

interface Addon extends NativeBlasFunctions {
  load(library: string): string;
  setThreads(threads: number): boolean;
}

/** Every function sag calls on the addon: an addon built from an older sag lacks some. */
const ADDON_FUNCTIONS = ['load', 'setThreads', 'matMul', 'conv2d', 'groupNorm', 'attention'] as const;

export interface NativeBlasStart {
  /** The library opened, e.g. 'OpenBLAS 0.3.21 (libopenblas.so.0)'. */
  library: string;
  /** BLAS threads set, or null where the library has no call for it (then its own default). */
  threads: number | null;
}

/** The built addon's path (npm install builds it with node-gyp: native/build.mjs). */
export function nativeAddonPath(): string {
  return path.join(packageRoot(), 'native', 'build', 'Release', 'sag_blas.node');
}

let addon: Addon | null = null;
/** The library opened per $SAG_NATIVE_BLAS setting ('' = the default search). */
const opened = new Map<string, string>();

function openLibrary(loaded: Addon, requested: string | undefined): string {
  const candidates = requested ? [requested] : (LIBRARIES[process.platform] ?? []);
  const failures: string[] = [];
  for (const library of candidates) {
    try {
      // OpenBLAS says its version ('OpenBLAS 0.3.21 DYNAMIC_ARCH ...'); other libraries are named by their file.
      const version = /^OpenBLAS \S+/.exec(loaded.load(library));
      return version ? `${version[0]} (${path.basename(library)})` : path.basename(library);
    } catch (error) {
      failures.push(`${library}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    requested
      ? `$${NATIVE_BLAS_VARIABLE}: cannot open ${failures[0]}`
      : `no optimised BLAS library found (tried ${candidates.join(', ') || 'none on this platform'}; install OpenBLAS, e.g. Debian's libopenblas0-pthread)`,
  );
}

/**
 * Routes wasm's Conv2D and BatchMatMul to an optimised CBLAS sgemm (OpenBLAS, MKL, BLIS, Accelerate) through sag's
 * addon, with `threads` BLAS threads. Returns what runs, or why not (addon not built, no library,
 * $SAG_NATIVE_BLAS=0): the wasm kernels stay then. $SAG_NATIVE_BLAS may name the library file; throws when that
 * library cannot be opened.
 */
export function startNativeBlas(threads: number): NativeBlasStart | string {
  const setting = process.env[NATIVE_BLAS_VARIABLE];
  if (setting === '0' || setting === 'off') return `$${NATIVE_BLAS_VARIABLE}=${setting}`;
  const file = nativeAddonPath();
  if (!fs.existsSync(file))
    return `${path.relative(packageRoot(), file)} is not built (npm install builds it: needs a C compiler and Node's headers)`;
  try {
    addon ??= require(file) as Addon;
    const missing = ADDON_FUNCTIONS.filter((name) => typeof addon?.[name] !== 'function');
    if (missing.length)
      return `${path.relative(packageRoot(), file)} is out of date (no ${missing.join(', ')}; rebuild it: node native/build.mjs)`;
    const key = setting ?? '';
    if (!opened.has(key)) opened.set(key, openLibrary(addon, setting || undefined));
    const threadsSet = addon.setThreads(threads);
    setNativeMatrixProducts(addon);
    return { library: opened.get(key) as string, threads: threadsSet ? threads : null };
  } catch (error) {
    // A library the user named must open: a bad $SAG_NATIVE_BLAS is an error, not a silent fallback.
    if (setting) throw error;
    return (error as Error).message;
  }
}

/** Back to wasm's own Conv2D and BatchMatMul kernels (benchmarks compare the two in one process). */
export function stopNativeBlas(): void {
  setNativeMatrixProducts(null);
}

/** Whether the native kernels can run here (what would run, or why not), leaving them off. */
export function nativeBlasAvailability(): NativeBlasStart | string {
  const start = startNativeBlas(1);
  stopNativeBlas();
  return start;
}
