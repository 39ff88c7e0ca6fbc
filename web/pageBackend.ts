import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerSagGradients } from '../lib/backend/sagGradients';

export type PageBackendChoice = 'auto' | 'webgpu' | 'wasm';

export interface PageBackend {
  name: 'webgpu' | 'wasm';
  /** What the page shows, e.g. 'wasm, 8 threads (cross-origin isolated)'. */
  description: string;
  /** Why WebGPU was not used, when it was not. */
  webgpuSkipped?: string;
}

async function webgpuAdapterName(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return null;
  const adapter = (await gpu.requestAdapter()) as { info?: { description?: string; vendor?: string } } | null;
  if (!adapter) return null;
  return adapter.info?.description || adapter.info?.vendor || 'WebGPU adapter';
}

/**
 * Starts WebGPU where the browser has an adapter (unless told wasm), else wasm: multithreaded when the page is
 * cross-origin isolated (`sag serve` sends the COOP/COEP headers), else one thread. Installs sag's exact
 * gradients and kernels, as the CLI does, so that both compute the same numbers on the same backend.
 */
export async function startPageBackend(choice: PageBackendChoice, wasmPath: string): Promise<PageBackend> {
  let webgpuSkipped: string | undefined;
  if (choice !== 'wasm') {
    const adapter = await webgpuAdapterName().catch(() => null);
    if (adapter && (await tf.setBackend('webgpu').catch(() => false))) {
      await tf.ready();
      registerSagGradients();
      return { name: 'webgpu', description: `webgpu (${adapter})` };
    }
    webgpuSkipped = adapter ? 'the webgpu backend did not start' : 'this browser exposes no WebGPU adapter';
    if (choice === 'webgpu') throw new Error(`WebGPU was asked for, but ${webgpuSkipped}`);
  }
  setWasmPaths(wasmPath);
  const isolated = globalThis.crossOriginIsolated === true;
  // As the CLI: one XNNPACK thread per core, at most 8.
  if (isolated) setThreadsCount(Math.min(8, navigator.hardwareConcurrency || 1));
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  await tf.ready();
  registerSagGradients();
  const threads = getThreadsCount();
  const threading = isolated
    ? `${threads} thread${threads === 1 ? '' : 's'} (cross-origin isolated)`
    : 'one thread (the page is not cross-origin isolated)';
  return { name: 'wasm', description: `wasm, ${threading}`, webgpuSkipped };
}
