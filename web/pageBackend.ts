import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerSagGradients } from '../lib/backend/sagGradients';

export type PageBackendChoice = 'auto' | 'webgpu' | 'wasm';

export interface PageBackend {
  name: 'webgpu' | 'wasm';
  /** What the page shows, e.g. 'wasm, 8 threads (cross-origin isolated)'. */
  description: string;
  /** Why WebGPU was not used, when it was not. */
  webgpuSkipped?: string;
}

interface AdapterFacts {
  name: string;
  /** A software rasteriser (SwiftShader): correct, slower than wasm. */
  software: boolean;
}

interface AdapterInfo {
  description?: string;
  vendor?: string;
  architecture?: string;
  isFallbackAdapter?: boolean;
}

async function webgpuAdapter(): Promise<AdapterFacts | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return null;
  const adapter = (await gpu.requestAdapter()) as { info?: AdapterInfo; isFallbackAdapter?: boolean } | null;
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const software =
    info.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    /swiftshader/i.test(info.architecture ?? '');
  const name =
    [info.vendor, info.architecture, info.description].filter((part) => part).join(' ') || 'WebGPU adapter';
  return { name, software };
}

/**
 * Starts WebGPU where the browser has an adapter (unless told wasm), else wasm: multithreaded when the page is
 * cross-origin isolated (`sag serve` sends the COOP/COEP headers), else one thread. tfjs-backend-wasm then starts
 * half as many XNNPACK threads as the browser reports logical cores (measured: 1 of 2, 2 of 4, 4 of 8). Installs sag's exact
 * gradients and kernels, as the CLI does, so that both compute the same numbers on the same backend.
 */
export async function startPageBackend(choice: PageBackendChoice, wasmPath: string): Promise<PageBackend> {
  let webgpuSkipped: string | undefined;
  if (choice !== 'wasm') {
    const adapter = await webgpuAdapter().catch(() => null);
    // As the CLI's auto: a software adapter is slower than wasm, so only an explicit ?backend=webgpu takes it.
    if (
      adapter &&
      (choice === 'webgpu' || !adapter.software) &&
      (await tf.setBackend('webgpu').catch(() => false))
    ) {
      await tf.ready();
      registerSagGradients();
      const kind = adapter.software ? 'software adapter' : 'GPU';
      return { name: 'webgpu', description: `webgpu (${kind}: ${adapter.name})` };
    }
    webgpuSkipped = !adapter
      ? 'this browser exposes no WebGPU adapter'
      : adapter.software
        ? `only a software adapter (${adapter.name}), slower than wasm; ?backend=webgpu uses it`
        : 'the webgpu backend did not start';
    if (choice === 'webgpu') throw new Error(`WebGPU was asked for, but ${webgpuSkipped}`);
  }
  setWasmPaths(wasmPath);
  const isolated = globalThis.crossOriginIsolated === true;
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  await tf.ready();
  registerSagGradients();
  const threads = getThreadsCount();
  const threading = isolated
    ? `${threads} thread${threads === 1 ? '' : 's'} (cross-origin isolated)`
    : 'one thread (the page is not cross-origin isolated)';
  return { name: 'wasm', description: `wasm, ${threading}`, webgpuSkipped };
}
