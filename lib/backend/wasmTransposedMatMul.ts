import * as tf from '@tensorflow/tfjs';
import { nativeBatchMatMul } from './nativeMatrixProducts';
import { Replacement, kernelReplacement } from './replacement';

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

interface DisposingBackend {
  disposeData(dataId: object): void;
}

/** The permutation that swaps the last two axes of a rank-r tensor. */
function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/** A wasm kernel's function, by name (Transpose and Reshape, which the wrapper calls directly). */
function wasmKernel(name: string): tf.KernelFunc {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
  return kernel.kernelFunc;
}

function transposingMatMul(stock: tf.KernelConfig): tf.KernelFunc {
  const matMul = stock.kernelFunc;
  const transposeFn = wasmKernel(tf.Transpose);
  const reshapeFn = wasmKernel(tf.Reshape);
  return (args) => {
    const reshape = (t: tf.TensorInfo, shape: number[]) =>
      reshapeFn({ inputs: { x: t }, backend: args.backend, attrs: { shape } }) as tf.TensorInfo;
    const run = (a: tf.TensorInfo, b: tf.TensorInfo) =>
      matMul({
        ...args,
        inputs: { ...args.inputs, a, b },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
    // A batch of `a` against one shared `b` (a linear layer on tokens): the batched kernel runs ~10x slower than
    // one [batch * m, k] x [k, n] product, so fold the batch into the rows (reshapes, no copies).
    const plainProduct = (a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo => {
      const aBatch = a.shape.slice(0, -2);
      const bBatch = b.shape.slice(0, -2);
      const count = (dims: number[]) => dims.reduce((x, y) => x * y, 1);
      if (count(aBatch) <= 1 || count(bBatch) !== 1) return run(a, b);
      const [m, k] = a.shape.slice(-2);
      const n = b.shape[b.shape.length - 1];
      const rank = Math.max(a.shape.length, b.shape.length);
      const outBatch = [...Array(rank - 2 - aBatch.length).fill(1), ...aBatch];
      const rows = reshape(a, [1, count(aBatch) * m, k]);
      const single = reshape(b, [1, b.shape[b.shape.length - 2], n]);
      const product = run(rows, single);
      const out = reshape(product, [...outBatch, m, n]);
      const backend = args.backend as DisposingBackend;
      for (const t of [rows, single, product]) backend.disposeData(t.dataId);
      return out;
    };
    const attrs = args.attrs as unknown as BatchMatMulAttrs;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const native = nativeBatchMatMul(a, b, attrs.transposeA, attrs.transposeB, args.backend);
    if (native) return native;
    if (!attrs.transposeA && !attrs.transposeB) return plainProduct(a, b);
    const laidOut = (t: tf.TensorInfo) =>
      transposeFn({
        inputs: { x: t },
        backend: args.backend,
        attrs: { perm: swapLastTwo(t.shape.length) },
      }) as tf.TensorInfo;
    const plainA = attrs.transposeA ? laidOut(a) : a;
    const plainB = attrs.transposeB ? laidOut(b) : b;
    const product = plainProduct(plainA, plainB);
    const backend = args.backend as DisposingBackend;
    if (plainA !== a) backend.disposeData(plainA.dataId);
    if (plainB !== b) backend.disposeData(plainB.dataId);
    return product;
  };
}

/**
 * tfjs-backend-wasm multiplies a transposed operand 15-50x slower than a plain one (measured, 1024x320 @ 320x320:
 * 8 ms plain, 460 ms with transposeA; 420 ms with transposeB). Linear layers in PyTorch's [out, in] layout, the
 * attention scores q k^T and most matMul gradients ask for a transpose. This wraps wasm's BatchMatMul so that a
 * transposed operand is first laid out by the Transpose kernel (a copy, cheap beside the product) and the product
 * runs plain; a batch against a shared matrix runs as one 2-D product. The result is the same
 * product, summed in the same order.
 */
export const WASM_TRANSPOSED_MATMUL: Replacement = kernelReplacement(
  'wasm BatchMatMul: transposed operands laid out first, a batch against one matrix as one 2-D product (10-50x faster)',
  tf.BatchMatMul,
  'wasm',
  transposingMatMul,
);
