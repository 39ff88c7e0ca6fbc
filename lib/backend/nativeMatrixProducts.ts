import * as tf from '@tensorflow/tfjs';
import { Conv2DAttrs, convGeometry } from './fastConvGradient';
import { Replacement, kernelReplacement } from './replacement';

/**
 * The functions of sag's native addon (native/sag_blas.c): a CBLAS sgemm, and the fused GroupNorm, run on tensors
 * in tfjs-backend-wasm's heap, given as byte offsets. Loaded in Node only (`nativeBlas.ts`); this module stays free
 * of Node imports because the browser bundle shares the wasm kernels.
 */
export interface NativeBlasFunctions {
  matMul(
    heap: Uint8Array,
    a: number,
    b: number,
    out: number,
    batch: number,
    m: number,
    n: number,
    k: number,
    transposeA: number,
    transposeB: number,
    aBatchStride: number,
    bBatchStride: number,
  ): void;
  conv2d(heap: Uint8Array, x: number, filter: number, out: number, ...geometry: number[]): void;
  /** sag's fused GroupNorm (+ SiLU): the forward with dy = 0, else the input gradient for the cotangent dy. */
  groupNorm(
    heap: Uint8Array,
    x: number,
    gamma: number,
    beta: number,
    dy: number,
    out: number,
    batch: number,
    pixels: number,
    channels: number,
    groups: number,
    silu: number,
    epsilon: number,
  ): void;
  /**
   * sag's fused attention on [B, T, heads * headDim] tokens: with dy = 0 the forward into out; otherwise the input
   * gradients into out (dq), dk and dv, each skipped where its offset is 0.
   */
  attention(
    heap: Uint8Array,
    q: number,
    k: number,
    v: number,
    dy: number,
    out: number,
    dk: number,
    dv: number,
    batch: number,
    queries: number,
    keys: number,
    heads: number,
    headDim: number,
    scale: number,
  ): void;
}

/** What the native kernels need of tfjs-backend-wasm (its class is not imported). */
export interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

let active: NativeBlasFunctions | null = null;

/** Routes wasm's Conv2D and BatchMatMul to `functions` (null: back to the wasm kernels). */
export function setNativeMatrixProducts(functions: NativeBlasFunctions | null): void {
  active = functions;
}

/** The functions in use, or null (wasm's own kernels run). */
export function activeNativeMatrixProducts(): NativeBlasFunctions | null {
  return active;
}

/** The byte offset of a tensor's data in wasm's heap. */
export function offsetOf(backend: WasmHeapBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * BatchMatMul through the native sgemm, or null where it does not apply (no addon, not float32, batch shapes that
 * are neither equal nor one of them a single matrix): the caller runs wasm's kernel then.
 */
export function nativeBatchMatMul(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  backend: unknown,
): tf.TensorInfo | null {
  if (!active || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const count = (dims: number[]) => dims.reduce((x, y) => x * y, 1);
  const aBatch = count(a.shape.slice(0, -2));
  const bBatch = count(b.shape.slice(0, -2));
  if (aBatch !== bBatch && aBatch !== 1 && bBatch !== 1) return null;
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
  const n = transposeB ? bRows : bCols;
  if ((transposeB ? bCols : bRows) !== k) return null;
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const heapBackend = backend as WasmHeapBackend;
  const out = heapBackend.makeOutput([...outBatch, m, n], 'float32');
  const batch = Math.max(aBatch, bBatch);
  active.matMul(
    heapBackend.wasm.HEAPU8,
    offsetOf(heapBackend, a),
    offsetOf(heapBackend, b),
    offsetOf(heapBackend, out),
    batch,
    m,
    n,
    k,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    aBatch === 1 ? 0 : m * k,
    bBatch === 1 ? 0 : k * n,
  );
  return out;
}

function nativeConv2D(stock: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as Conv2DAttrs;
    if (!active || attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || filter.dtype !== 'float32')
      return stock.kernelFunc(args);
    const info = convGeometry(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs,
    );
    const backend = args.backend as WasmHeapBackend;
    const out = backend.makeOutput(info.outShape, 'float32');
    active.conv2d(
      backend.wasm.HEAPU8,
      offsetOf(backend, x),
      offsetOf(backend, filter),
      offsetOf(backend, out),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.outChannels,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
      info.dilationHeight,
      info.dilationWidth,
    );
    return out;
  };
}

/**
 * wasm's Conv2D through the native sgemm (im2col patches, then one product) while native matrix products are on;
 * wasm's own kernel otherwise (always in a browser).
 */
export const NATIVE_CONV2D: Replacement = kernelReplacement(
  'wasm Conv2D: im2col + the native BLAS sgemm when sag_blas is built (the backend line says)',
  tf.Conv2D,
  'wasm',
  nativeConv2D,
);
