/* eslint-disable @typescript-eslint/no-require-imports -- optional packages are detected at run time */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { BackendChoice } from './backendNames';
import { NATIVE_BLAS_VARIABLE, NativeBlasStart, startNativeBlas, stopNativeBlas } from './nativeBlas';
import { registerSagGradients } from './sagGradients';
import { startWebgpuBackend } from './webgpuBackend';
import { askedWasmThreadCount, startThreadedWasm, wasmThreadCount } from './wasmThreads';
import { assertSupportedTfjs } from './tfjsSupport';

export interface StartedBackend {
  /** tfjs backend name actually in use ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  name: string;
  /** Human-readable description, e.g. 'webgpu (NVIDIA H100)'. */
  description: string;
  /** True for a software GPU adapter (lavapipe, SwiftShader): correct, slower than wasm. */
  software?: boolean;
  /** wasm only: the threads that run the heavy kernels (XNNPACK's, or the BLAS library's when `nativeBlas` is on). */
  threads?: number;
  /**
   * wasm only: the BLAS library that runs Conv2D and BatchMatMul (`startNativeBlas`), or why wasm's own kernels
   * do (`{ off: reason }`).
   */
  nativeBlas?: NativeBlasStart | { off: string };
  /** Why backends tried before this one (by `auto`) did not start. */
  skipped?: string[];
}

export interface StartBackendOptions {
  /** Print "backend: ..." once to stderr, with why faster backends were skipped (default true). */
  announce?: boolean;
  /**
   * Install sag's exact, faster gradients and kernel fixes for the whole process (default true; see
   * `registerSagGradients`). false leaves tfjs as it is: correct but slower on wasm, and wrong gradients through
   * nearest-neighbour upsampling at batch > 1 on the cpu backend.
   */
  sagGradients?: boolean;
  /** XNNPACK threads on wasm (default $SAG_WASM_THREADS, else the machine's cores, at most 8; 1 = single-threaded). */
  wasmThreads?: number;
  /**
   * On wasm, run Conv2D and BatchMatMul on an optimised BLAS library through sag's native addon when it is built
   * (default true; also off with $SAG_NATIVE_BLAS=0 or `sagGradients: false`); XNNPACK then gets one thread.
   */
  nativeBlas?: boolean;
}

let started: StartedBackend | null = null;

function tryRequire(id: string): boolean {
  try {
    require(id);
    return true;
  } catch {
    return false;
  }
}

async function startTensorflow(): Promise<StartedBackend | string> {
  // Optional native bindings: present only where their install could download libtensorflow.
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (tryRequire(pkg) && (await tf.setBackend('tensorflow'))) {
      return { name: 'tensorflow', description: `tensorflow (${pkg})` };
    }
  }
  return 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (npm install one of them)';
}

async function startWebgpu(choice: BackendChoice): Promise<StartedBackend | string> {
  // auto must not pick a software adapter (lavapipe, SwiftShader): they are slower than wasm.
  const result = await startWebgpuBackend(choice === 'webgpu');
  if (!result.ok) return result.reason;
  const kind = result.adapter.software ? 'software adapter' : 'GPU';
  return {
    name: 'webgpu',
    description: `webgpu (${kind}: ${result.adapter.description})`,
    software: result.adapter.software,
  };
}

const CALLER_TURNED_OFF = 'turned off by the caller';

/**
 * BLAS threads: the count asked for (option or $SAG_WASM_THREADS), else half the logical cores. A BLAS worker
 * spinning on the hyperthread sibling of the main thread slows everything the main thread runs between products:
 * on a 2-vCPU machine, 2 BLAS threads made the digit UNet's SAG gradient 1.7x slower than 1 (1977 against 1156 ms).
 */
function nativeBlasThreads(requested: number | undefined): number {
  return askedWasmThreadCount(requested) ?? Math.max(1, Math.floor(os.availableParallelism() / 2));
}

async function startWasm(
  _choice: BackendChoice,
  options: StartBackendOptions,
): Promise<StartedBackend | string> {
  const threads = wasmThreadCount(options.wasmThreads);
  try {
    require('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    return `@tensorflow/tfjs-backend-wasm could not be loaded: ${String(error)}`;
  }
  // The native products take all the threads: XNNPACK's workers, which spin between operations, would slow the
  // single-threaded BLAS calls (measured: an SD-architecture UNet's forward 236 against 153 ms at 2 + 1 threads).
  const native =
    options.nativeBlas === false || options.sagGradients === false
      ? CALLER_TURNED_OFF
      : startNativeBlas(nativeBlasThreads(options.wasmThreads));
  const started = await startThreadedWasm(typeof native === 'string' ? threads : 1);
  if (typeof started === 'string') {
    stopNativeBlas();
    return started;
  }
  const plural = (count: number) => `${count} thread${count === 1 ? '' : 's'}`;
  const nativePart =
    typeof native === 'string'
      ? ''
      : `; conv/matmul: ${native.library}${native.threads ? `, ${plural(native.threads)}` : ''}`;
  return {
    name: 'wasm',
    description: `wasm (XNNPACK, ${plural(started)}${nativePart})`,
    threads: typeof native === 'string' ? started : (native.threads ?? started),
    nativeBlas: typeof native === 'string' ? { off: native } : native,
  };
}

async function startCpu(): Promise<StartedBackend | string> {
  if (!(await tf.setBackend('cpu'))) return 'the cpu backend could not start';
  return { name: 'cpu', description: 'cpu (pure JavaScript)' };
}

let cpuQuieted = false;

/**
 * The cpu backend prints an advertisement for tfjs-node on its first use (also when tfjs falls back to it
 * internally); sag detects tfjs-node itself, so the cpu backend is re-registered without it.
 */
function quietCpuBackend(): void {
  if (cpuQuieted) return;
  cpuQuieted = true;
  const factory = tf.findBackendFactory('cpu');
  // tf.findBackend would initialise the backend; look at the engine's registry of started backends instead.
  const alreadyStarted = 'cpu' in (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  if (!factory || alreadyStarted) return;
  tf.removeBackend('cpu');
  tf.registerBackend(
    'cpu',
    () => {
      const backend = factory() as unknown as { firstUse?: boolean };
      backend.firstUse = false;
      return backend as unknown as tf.KernelBackend;
    },
    1,
  );
}

/** Each starter returns the started backend or why it could not start. */
const STARTERS: Record<
  Exclude<BackendChoice, 'auto'>,
  (choice: BackendChoice, options: StartBackendOptions) => Promise<StartedBackend | string>
> = {
  tensorflow: startTensorflow,
  webgpu: startWebgpu,
  wasm: startWasm,
  cpu: startCpu,
};

/**
 * Starts the requested backend. `auto` tries tensorflow (only if tfjs-node(-gpu) is importable), webgpu (only on a
 * hardware adapter), wasm, then cpu. An explicit choice that cannot start is an error saying why; an explicit
 * webgpu also accepts a software adapter.
 */
export async function startBackend(
  choice: BackendChoice,
  options: StartBackendOptions = {},
): Promise<StartedBackend> {
  if (started && (choice === 'auto' || choice === started.name)) return started;
  assertSupportedTfjs();
  quietCpuBackend();
  const order: Exclude<BackendChoice, 'auto'>[] =
    choice === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [choice];
  const skipped: string[] = [];
  let result: StartedBackend | null = null;
  for (const name of order) {
    const attempt = await STARTERS[name](choice, options);
    if (typeof attempt !== 'string') {
      result = attempt;
      break;
    }
    skipped.push(`${name}: ${attempt}`);
  }
  if (!result) {
    throw new Error(
      choice === 'auto'
        ? `no backend could start: ${skipped.join('; ')}`
        : `--backend ${choice}: ${skipped[0].slice(choice.length + 2)}`,
    );
  }
  // tensorflow is optional and rarely installed: only say why the GPU path was skipped.
  const worthSaying = skipped.filter((line) => !line.startsWith('tensorflow:'));
  // Why the native kernels are off, unless someone turned them off on purpose.
  const nativeOff = result.nativeBlas && 'off' in result.nativeBlas ? result.nativeBlas.off : null;
  if (nativeOff && nativeOff !== CALLER_TURNED_OFF && !nativeOff.startsWith(`$${NATIVE_BLAS_VARIABLE}=`))
    worthSaying.push(`native kernels: ${nativeOff}`);
  if (worthSaying.length > 0) result.skipped = worthSaying;
  await tf.ready();
  if (options.sagGradients !== false) registerSagGradients();
  started = result;
  if (options.announce !== false) {
    const why = result.skipped ? ` (${result.skipped.join('; ')})` : '';
    process.stderr.write(`backend: ${result.description}${why}\n`);
  }
  return result;
}
