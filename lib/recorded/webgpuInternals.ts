import * as tf from '@tensorflow/tfjs';

/**
 * The parts of tfjs-backend-webgpu's backend (4.22) that the recorded executor uses. They are not public API:
 * `webgpuInternalsOf` checks that each exists before the executor relies on them, so a tfjs whose internals moved
 * runs graphs the ordinary way instead of failing.
 */
export interface GpuBufferLike {
  size: number;
  usage: number;
}

export interface BufferManagerLike {
  acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GpuBufferLike;
  releaseBuffer(buffer: GpuBufferLike, reuse?: boolean): void;
  freeBuffers: Map<string, GpuBufferLike[]>;
  usedBuffers: Map<string, GpuBufferLike[]>;
  numFreeBuffers: number;
  numUsedBuffers: number;
  numBytesUsed: number;
  numBytesAllocated: number;
}

export interface TensorDataLike {
  values: unknown;
  resource: unknown;
  external?: boolean;
  shape: number[];
  dtype: tf.DataType;
}

export interface ComputePassLike {
  setPipeline(pipeline: unknown): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface CommandEncoderLike {
  beginComputePass(descriptor?: object): ComputePassLike;
  copyBufferToBuffer(
    source: GpuBufferLike,
    sourceOffset: number,
    destination: GpuBufferLike,
    destinationOffset: number,
    size: number,
  ): void;
  finish(): unknown;
}

export interface GpuDeviceLike {
  createBindGroup(descriptor: { entries: { binding: number; resource: unknown }[] }): unknown;
  createCommandEncoder(): CommandEncoderLike;
  queue: { submit(buffers: unknown[]): void };
}

export interface WebgpuProgramLike {
  pipeline: unknown;
  dispatch: [number, number, number];
}

export interface WebgpuInternals {
  device: GpuDeviceLike;
  bufferManager: BufferManagerLike;
  tensorMap: { get(dataId: object): TensorDataLike | undefined; has(dataId: object): boolean };
  commandEncoder: CommandEncoderLike | null;
  activeTimers: unknown;
  recordAndSubmit(
    program: WebgpuProgramLike,
    output: tf.TensorInfo,
    inputs: tf.TensorInfo[],
    uniforms?: unknown,
  ): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
  copyBuffer(buffer: GpuBufferLike): GpuBufferLike;
  readToGPU(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const METHODS = [
  'recordAndSubmit',
  'endComputePassEncoder',
  'submitQueue',
  'uploadToGPU',
  'readSync',
  'read',
  'copyBuffer',
  'readToGPU',
  'makeTensorInfo',
] as const;

/** The active backend's internals when it is tfjs's webgpu backend with every part the executor needs, else null. */
export function webgpuInternalsOf(backend: tf.KernelBackend = tf.backend()): WebgpuInternals | null {
  const b = backend as unknown as Record<string, unknown>;
  if (tf.getBackend() !== 'webgpu') return null;
  if (!METHODS.every((m) => typeof b[m] === 'function')) return null;
  const manager = b.bufferManager as Record<string, unknown> | undefined;
  if (!manager || typeof manager.acquireBuffer !== 'function' || typeof manager.releaseBuffer !== 'function')
    return null;
  if (!(manager.freeBuffers instanceof Map) || !(manager.usedBuffers instanceof Map)) return null;
  const device = b.device as Record<string, unknown> | undefined;
  if (
    !device ||
    typeof device.createBindGroup !== 'function' ||
    typeof device.createCommandEncoder !== 'function'
  )
    return null;
  if (!b.tensorMap || typeof (b.tensorMap as Record<string, unknown>).get !== 'function') return null;
  return backend as unknown as WebgpuInternals;
}

/** tfjs's key for a buffer's size and usage in its pool (buffer_manager.js getBufferKey). */
export function bufferKey(buffer: GpuBufferLike): string {
  return `${buffer.size}_${buffer.usage}`;
}

/** GPUBufferUsage flags (the WebGPU constants; the globals exist only once Dawn has been loaded). */
export const BUFFER_USAGE = {
  MAP_READ: 1,
  MAP_WRITE: 2,
  COPY_SRC: 4,
  COPY_DST: 8,
  UNIFORM: 64,
  STORAGE: 128,
};
