/* eslint-disable @typescript-eslint/no-require-imports -- optional packages are detected at run time */
import * as tf from '@tensorflow/tfjs';
import { BackendChoice } from './backendNames';
import { registerDepthwiseConvGradient } from './depthwiseConvGradient';
import { registerFastConvGradient } from './fastConvGradient';

export interface StartedBackend {
  /** tfjs backend name actually in use ('tensorflow', 'webgpu', 'wasm', 'cpu'). */
  name: string;
  /** Human-readable description, e.g. 'webgpu (NVIDIA H100)'. */
  description: string;
}

export interface StartBackendOptions {
  /** Print "backend: ..." once to stderr (default true). */
  announce?: boolean;
}

let started: StartedBackend | null = null;

/** The backend started by `startBackend`, or null before. */
export function currentBackend(): StartedBackend | null {
  return started;
}

function tryRequire(id: string): boolean {
  try {
    require(id);
    return true;
  } catch {
    return false;
  }
}

async function startTensorflow(): Promise<StartedBackend | null> {
  // Optional native bindings: present only where their install could download libtensorflow.
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (tryRequire(pkg) && (await tf.setBackend('tensorflow'))) {
      return { name: 'tensorflow', description: `tensorflow (${pkg})` };
    }
  }
  return null;
}

async function startWebgpu(): Promise<StartedBackend | null> {
  let webgpu: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    webgpu = require('webgpu');
    require('@tensorflow/tfjs-backend-webgpu');
  } catch {
    return null;
  }
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, webgpu.globals);
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(g.navigator ?? {}), gpu: webgpu.create([]) },
      configurable: true,
      writable: true,
    });
  }
  let ok = false;
  try {
    // setBackend resolves false when no adapter exists; getBackend() may still say 'webgpu'.
    ok = await tf.setBackend('webgpu');
  } catch {
    ok = false;
  }
  if (!ok) return null;
  let adapterInfo = '';
  try {
    const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<unknown> } } })
      .navigator.gpu;
    const adapter = (await gpu.requestAdapter()) as {
      info?: { description?: string; vendor?: string };
    } | null;
    adapterInfo = adapter?.info?.description || adapter?.info?.vendor || '';
  } catch {
    adapterInfo = '';
  }
  return { name: 'webgpu', description: adapterInfo ? `webgpu (${adapterInfo})` : 'webgpu' };
}

async function startWasm(): Promise<StartedBackend | null> {
  try {
    require('@tensorflow/tfjs-backend-wasm');
  } catch {
    return null;
  }
  return (await tf.setBackend('wasm')) ? { name: 'wasm', description: 'wasm (XNNPACK)' } : null;
}

async function startCpu(): Promise<StartedBackend | null> {
  if (!(await tf.setBackend('cpu'))) return null;
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

const STARTERS: Record<Exclude<BackendChoice, 'auto'>, () => Promise<StartedBackend | null>> = {
  tensorflow: startTensorflow,
  webgpu: startWebgpu,
  wasm: startWasm,
  cpu: startCpu,
};

/**
 * Starts the requested backend. `auto` tries tensorflow (only if tfjs-node(-gpu) is importable), webgpu (only if
 * an adapter exists), wasm, then cpu. An explicit choice that cannot start is an error.
 */
export async function startBackend(
  choice: BackendChoice,
  options: StartBackendOptions = {},
): Promise<StartedBackend> {
  if (started && (choice === 'auto' || choice === started.name)) return started;
  quietCpuBackend();
  const order: Exclude<BackendChoice, 'auto'>[] =
    choice === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [choice];
  let result: StartedBackend | null = null;
  for (const name of order) {
    result = await STARTERS[name]();
    if (result) break;
  }
  if (!result) {
    throw new Error(
      choice === 'tensorflow'
        ? '--backend tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (npm install one of them)'
        : `--backend ${choice}: the backend could not start on this machine`,
    );
  }
  await tf.ready();
  registerFastConvGradient();
  registerDepthwiseConvGradient();
  started = result;
  if (options.announce !== false) process.stderr.write(`backend: ${result.description}\n`);
  return result;
}
