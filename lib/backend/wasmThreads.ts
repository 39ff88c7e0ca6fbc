/* eslint-disable @typescript-eslint/no-require-imports -- the wasm backend is loaded when it is chosen */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

/**
 * Multithreaded wasm under Node.
 *
 * tfjs-backend-wasm ships a threaded build (XNNPACK's thread pool on emscripten pthreads) but never uses it under
 * Node (tfjs issue 3830). Two things stand in the way, both in its loader, not in the build:
 * - it hands the pthread workers their scripts as `blob:` URLs, which Node's worker_threads cannot load;
 * - XNNPACK takes half of `os.cpus()` as its thread count (it assumes two hyperthreads per core), capped at the
 *   8 workers the build starts, so a 2-core machine gets one thread whatever `setThreadsCount` asks.
 * While the backend starts, `startThreadedWasm` therefore records the two scripts the loader builds as Blobs, writes
 * them to files that the workers load instead (the worker script is told to read the main script from its file),
 * and shows XNNPACK twice the wanted thread count as cores. Everything is put back once the backend has started.
 */

const ENV_VARIABLE = 'SAG_WASM_THREADS';
/** The threaded build starts 8 pthread workers; XNNPACK cannot use more. */
export const MAX_WASM_THREADS = 8;

/**
 * The number of threads wasm should use: `requested`, else $SAG_WASM_THREADS, else the machine's cores (at most
 * 8). Throws naming the setting when it is not a whole number from 1 to 8.
 */
export function wasmThreadCount(requested?: number): number {
  const fromEnv = process.env[ENV_VARIABLE];
  const [value, source] =
    requested !== undefined
      ? [requested, 'wasmThreads']
      : fromEnv !== undefined && fromEnv !== ''
        ? [Number(fromEnv), `$${ENV_VARIABLE}`]
        : [Math.min(os.availableParallelism(), MAX_WASM_THREADS), ''];
  if (!Number.isInteger(value) || value < 1 || value > MAX_WASM_THREADS) {
    const shown = source === `$${ENV_VARIABLE}` ? JSON.stringify(fromEnv) : String(value);
    throw new Error(
      `${source}: expected a whole number of threads from 1 to ${MAX_WASM_THREADS}, got ${shown}`,
    );
  }
  return value;
}

/** The thread count the caller asked for (`requested` or $SAG_WASM_THREADS, checked), or undefined when neither is set. */
export function askedWasmThreadCount(requested?: number): number | undefined {
  const fromEnv = process.env[ENV_VARIABLE];
  return requested !== undefined || (fromEnv !== undefined && fromEnv !== '')
    ? wasmThreadCount(requested)
    : undefined;
}

const MAIN_SCRIPT_START = 'var WasmBackendModuleThreadedSimd';
/** The worker script's branch that loads the main script from the Blob it was sent. */
const WORKER_LOAD_BRANCH = 'if(typeof e.data.urlOrBlob=="string")';
/**
 * The main script is the threaded module's factory cut out of tfjs's Node bundle; these are the names it uses from
 * that bundle's scope.
 */
const MAIN_SCRIPT_PRELUDE =
  "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os')," +
  'commonjsGlobal=globalThis;\n';

interface PthreadWorker {
  unref(): void;
}
interface ThreadedWasmModule {
  PThread?: {
    unusedWorkers: PthreadWorker[];
    runningWorkers: PthreadWorker[];
    terminateAllThreads(): void;
  };
  tfjs: { getThreadsCount(): number };
}

let scriptDir: string | null = null;
/** The threaded module this copy of the library started, so that its workers can be stopped. */
let startedModule: ThreadedWasmModule | null = null;

function scriptDirectory(): string {
  if (!scriptDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-wasm-threads-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    scriptDir = dir;
  }
  return scriptDir;
}

/** Puts the loader's environment back as it was (see the module comment). */
type Restore = () => void;

function patchLoaderEnvironment(threads: number): Restore {
  const dir = scriptDirectory();
  const mainScriptPath = path.join(dir, 'threaded-simd.js');
  const workerScriptPath = path.join(dir, 'threaded-simd.worker.js');
  const OriginalBlob = globalThis.Blob;
  const originalCreateObjectURL = URL.createObjectURL.bind(URL);
  // The module object itself: the tfjs bundle calls its cpus() (a namespace import's properties are read-only).
  const nodeOs = require('os') as { cpus: typeof os.cpus };
  const originalCpus = nodeOs.cpus;
  const blobTexts = new WeakMap<Blob, string>();

  type BlobArguments = ConstructorParameters<typeof OriginalBlob>;
  class RecordingBlob extends OriginalBlob {
    constructor(parts: BlobArguments[0] = [], options?: BlobArguments[1]) {
      super(parts, options);
      if (!parts.every((part) => typeof part === 'string')) return;
      const text = parts.join('');
      blobTexts.set(this, text);
      // The main script travels to the workers as this Blob; they read the file instead.
      if (text.startsWith(MAIN_SCRIPT_START)) fs.writeFileSync(mainScriptPath, MAIN_SCRIPT_PRELUDE + text);
    }
  }
  globalThis.Blob = RecordingBlob;
  URL.createObjectURL = (blob: Blob): string => {
    const text = blobTexts.get(blob);
    if (text === undefined || !text.includes(WORKER_LOAD_BRANCH)) return originalCreateObjectURL(blob);
    const loadFromFile = `if(true){importScripts(${JSON.stringify(mainScriptPath)})}else if(false)`;
    fs.writeFileSync(workerScriptPath, text.replace(WORKER_LOAD_BRANCH, loadFromFile));
    return workerScriptPath;
  };
  const cpus = originalCpus();
  // XNNPACK uses half the cores it is shown (see the module comment).
  nodeOs.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  return () => {
    globalThis.Blob = OriginalBlob;
    URL.createObjectURL = originalCreateObjectURL;
    nodeOs.cpus = originalCpus;
  };
}

/** A threaded start waits for its pthread workers; a start that never ends must not hang the process. */
const STARTUP_LIMIT_MS = 60_000;

function settledWithin<T>(promise: Promise<T>, limitMs: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), limitMs);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Starts tfjs's wasm backend with `threads` XNNPACK threads (1: the single-threaded build, untouched). Returns the
 * thread count the backend reports, or why it could not start. The pthread workers are unref'd so that they do not
 * keep the process alive.
 */
export async function startThreadedWasm(threads: number): Promise<number | string> {
  const wasmBackend = require('@tensorflow/tfjs-backend-wasm') as { getThreadsCount(): number };
  if (threads === 1) {
    return (await tf.setBackend('wasm')) ? 1 : 'the wasm module could not be instantiated';
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  let restore: Restore = () => undefined;
  let ok: boolean | 'late';
  try {
    restore = patchLoaderEnvironment(threads);
    ok = await settledWithin(tf.setBackend('wasm'), STARTUP_LIMIT_MS);
  } finally {
    restore();
  }
  if (ok === 'late') {
    return (
      `the threaded wasm module did not start within ${STARTUP_LIMIT_MS / 1000} s ` +
      '(SAG_WASM_THREADS=1 uses the single-threaded build)'
    );
  }
  if (!ok)
    return 'the threaded wasm module could not be instantiated (SAG_WASM_THREADS=1 uses the plain one)';
  const module = (tf.backend() as unknown as { wasm: ThreadedWasmModule }).wasm;
  startedModule = module;
  for (const worker of [
    ...(module.PThread?.unusedWorkers ?? []),
    ...(module.PThread?.runningWorkers ?? []),
  ]) {
    worker.unref();
  }
  return wasmBackend.getThreadsCount();
}

/**
 * Stops the pthread workers of the threaded wasm backend this copy of the library started (nothing when none was).
 * The backend cannot run kernels afterwards. A process exits without it (the workers are unref'd); it matters where
 * one process loads the library many times, as jest does per test file: each load starts 8 more workers that would
 * otherwise live, with their memory, until the process ends.
 */
export function stopThreadedWasm(): void {
  startedModule?.PThread?.terminateAllThreads();
  startedModule = null;
}
