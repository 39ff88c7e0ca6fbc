/* eslint-disable @typescript-eslint/no-require-imports -- optional packages are detected at run time */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { recordDeviceError } from './deviceHealth';

/** What Dawn says about the adapter it found. */
export interface WebgpuAdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, WARP): correct but slower than wasm. */
  software: boolean;
}

export type WebgpuStart =
  { ok: true; adapter: WebgpuAdapterSummary } | { ok: false; reason: string; adapter?: WebgpuAdapterSummary };

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string };
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: { has(name: string): boolean };
  requestDevice(descriptor: unknown): Promise<GpuDeviceLike>;
}

interface GpuDeviceLike {
  onuncapturederror: ((event: { error: { message: string; constructor: { name: string } } }) => void) | null;
  lost: Promise<{ reason?: string; message: string }>;
  destroy(): void;
}

interface GpuLike {
  requestAdapter(options?: unknown): Promise<GpuAdapterLike | null>;
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|warp|basic render/i;

export function summarizeAdapter(adapter: GpuAdapterLike): WebgpuAdapterSummary {
  const info = adapter.info ?? {};
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description || info.device || vendor || 'unknown adapter';
  const software =
    adapter.isFallbackAdapter === true ||
    architecture === 'software' ||
    SOFTWARE_ADAPTER.test(`${description} ${info.device ?? ''}`);
  return { vendor, architecture, description, software };
}

type DawnModule = { create: (flags: string[]) => unknown; globals: Record<string, unknown> };

/**
 * The npm `webgpu` package is an ES module; Node >= 20.19 can require() it, module systems that cannot (jest,
 * older Node) get its native addon, which exports the same `create` and `globals`.
 */
function loadDawn(): DawnModule {
  try {
    return require('webgpu') as DawnModule;
  } catch (error) {
    const root = path.dirname(require.resolve('webgpu/package.json'));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    const addon = path.join(root, 'dist', `${process.platform}-${arch}`, 'dawn.node');
    if (!fs.existsSync(addon)) throw error;
    return require(addon) as DawnModule;
  }
}

/**
 * One Dawn instance and one device per process, kept on the native module's `create` function (shared by every
 * module registry that loads it; the ES module namespace itself cannot take properties): jest gives each test file fresh globals, and a Dawn instance per file would be collected while the
 * process runs.
 */
const SHARED = Symbol.for('sag.webgpu.shared');
type SharedDawn = { gpu: GpuLike; device?: GpuDeviceLike; adapter?: GpuAdapterLike; lostWatched?: boolean };

/** The shared state this module instance started a device on (null until then). */
let startedShared: SharedDawn | null = null;

/**
 * Destroys the shared device this module started, if any; the next start opens a new one. Dawn keeps the process
 * alive while a device's `lost` promise is pending, so a process that runs on without exiting explicitly (a jest
 * worker between test files and at the end) calls this when it is done with WebGPU.
 */
export function stopWebgpuDevice(): void {
  const shared = startedShared;
  startedShared = null;
  if (!shared?.device) return;
  shared.device.destroy();
  // An adapter opens one device: the next start asks for a new adapter too.
  shared.device = undefined;
  shared.adapter = undefined;
  shared.lostWatched = false;
}

/**
 * Dawn's instance flags from SAG_DAWN_FLAGS (comma-separated). `backend=null` gives Dawn's null adapter, which
 * executes nothing: benchmarks then measure only the CPU cost of issuing work, at any model size, without a GPU.
 */
function dawnFlags(): string[] {
  return (process.env.SAG_DAWN_FLAGS ?? '')
    .split(',')
    .map((flag) => flag.trim())
    .filter((flag) => flag.length > 0);
}

/** Installs Dawn's WebGPU globals and navigator.gpu, once; returns the shared state or why it is missing. */
function installWebgpuGlobals(): SharedDawn | string {
  let dawn: DawnModule;
  try {
    dawn = loadDawn();
  } catch (error) {
    return `the npm package 'webgpu' (Dawn for Node) could not be loaded: ${firstLine(error)}; it is an optional dependency of sag (npm install webgpu)`;
  }
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  const holder = dawn.create as DawnModule['create'] & { [SHARED]?: SharedDawn };
  if (!holder[SHARED]) holder[SHARED] = { gpu: g.navigator?.gpu ?? (dawn.create(dawnFlags()) as GpuLike) };
  const shared = holder[SHARED];
  if (g.navigator?.gpu !== shared.gpu) {
    Object.assign(globalThis, dawn.globals);
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(g.navigator ?? {}), gpu: shared.gpu },
      configurable: true,
      writable: true,
    });
  }
  return shared;
}

/** Why Dawn found no adapter, as far as the machine tells: no Vulkan loader, or no Vulkan driver. */
function explainMissingAdapter(): string {
  if (process.platform !== 'linux')
    return 'no WebGPU adapter: Dawn found no GPU (it needs Metal on macOS, D3D12 on Windows)';
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, 'libvulkan.so.1');
  } catch (error) {
    if (/cannot open shared object/i.test(String(error)))
      return "no WebGPU adapter: the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: apt install libvulkan1, plus your GPU vendor's Vulkan driver)";
  }
  const icds = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].flatMap((dir) =>
    fs.existsSync(dir) ? fs.readdirSync(dir) : [],
  );
  if (icds.length === 0)
    return "no WebGPU adapter: the Vulkan loader is installed but no Vulkan driver is (install your GPU vendor's Vulkan driver; without a GPU, Mesa >= 23 mesa-vulkan-drivers gives a software device)";
  return `no WebGPU adapter: no Vulkan driver offered a device Dawn accepts (drivers found: ${icds.join(', ')}; Mesa's lavapipe must be version 23 or newer)`;
}

/**
 * Starts tfjs's webgpu backend on Dawn's adapter, with a device whose asynchronous errors are recorded (see
 * deviceHealth). Refuses a software adapter unless `allowSoftware`. Never throws: a failure says why.
 */
export async function startWebgpuBackend(allowSoftware: boolean): Promise<WebgpuStart> {
  const shared = installWebgpuGlobals();
  if (typeof shared === 'string') return { ok: false, reason: shared };
  let backendClass: new (device: unknown, info: unknown) => tf.KernelBackend;
  try {
    // Required only now: the module registers its own factory only if navigator.gpu exists when first loaded.
    backendClass = require('@tensorflow/tfjs-backend-webgpu').WebGPUBackend;
  } catch (error) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-webgpu could not be loaded: ${firstLine(error)}` };
  }
  let adapter: GpuAdapterLike | null = shared.adapter ?? null;
  try {
    adapter ??= await shared.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { ok: false, reason: `requesting a WebGPU adapter failed: ${firstLine(error)}` };
  }
  if (!adapter) return { ok: false, reason: explainMissingAdapter() };
  const summary = summarizeAdapter(adapter);
  if (summary.software && !allowSoftware)
    return {
      ok: false,
      adapter: summary,
      reason: `the only WebGPU adapter is a software one (${summary.description}), slower than wasm`,
    };
  let device: GpuDeviceLike;
  try {
    device = shared.device ?? (await adapter.requestDevice(deviceDescriptor(adapter, summary.software)));
  } catch (error) {
    return {
      ok: false,
      adapter: summary,
      reason: `the adapter refused to open a device: ${firstLine(error)}`,
    };
  }
  shared.adapter = adapter;
  shared.device = device;
  startedShared = shared;
  const chosen = adapter;
  // Reassigned on each start, so that reports reach the deviceHealth module of the code that started last.
  device.onuncapturederror = (event) => recordDeviceError(event.error.constructor.name, event.error.message);
  if (!shared.lostWatched) {
    shared.lostWatched = true;
    void device.lost.then((info) => {
      if (info.reason !== 'destroyed') recordDeviceError('device lost', info.message);
    });
  }
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new backendClass(device, chosen.info), 3);
  let ok = false;
  let failure = '';
  try {
    ok = await tf.setBackend('webgpu');
  } catch (error) {
    failure = `: ${firstLine(error)}`;
  }
  if (!ok) return { ok: false, adapter: summary, reason: `tfjs could not start on the device${failure}` };
  return { ok: true, adapter: summary };
}

/**
 * The limits tfjs's own factory asks for: the adapter's maxima for buffers and workgroups. Timestamp queries (tfjs
 * times kernels with them under tf.profile) only on hardware adapters: each resolve allocates descriptor sets,
 * which lavapipe backs with host memory mappings, so profiled runs reached the per-process map limit
 * (vm.max_map_count) and crashed in the driver much sooner.
 */
function deviceDescriptor(adapter: GpuAdapterLike, software: boolean): unknown {
  const limits = adapter.limits;
  const names = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ];
  return {
    requiredFeatures: !software && adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: Object.fromEntries(names.map((n) => [n, limits[n]])),
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
