import * as tf from '@tensorflow/tfjs';
import {
  AttentionAttrs,
  attention,
  attentionGradient,
  attentionGradientPrimitive,
  attentionPrimitive,
} from '../../lib/kernels';
import { relativeL2 } from '../helpers/relativeError';

export interface AttentionCase {
  /** Batch, query tokens, key tokens, heads, head size. */
  batch: number;
  queries: number;
  keys: number;
  heads: number;
  headDim: number;
}

/** Geometries the fused attention kernels are checked on (odd sizes, one head, cross-attention, SD-like). */
export const ATTENTION_CASES: [string, AttentionCase][] = [
  ['self-attention, 2 images, 2 heads of 3', { batch: 2, queries: 7, keys: 7, heads: 2, headDim: 3 }],
  ['one head, one query token', { batch: 1, queries: 1, keys: 5, heads: 1, headDim: 4 }],
  ['cross-attention, 77 context tokens, 8 heads', { batch: 2, queries: 16, keys: 77, heads: 8, headDim: 5 }],
  ['SD-like self-attention, 8 heads of 40', { batch: 1, queries: 64, keys: 64, heads: 8, headDim: 40 }],
];

/** Inputs of a case (scaled so that the softmax is neither flat nor one-hot). */
export function attentionInputs(c: AttentionCase, seed = 40) {
  const width = c.heads * c.headDim;
  return tf.tidy(() => ({
    q: tf.randomNormal([c.batch, c.queries, width], 0, 1, 'float32', seed),
    k: tf.randomNormal([c.batch, c.keys, width], 0, 1, 'float32', seed + 1),
    v: tf.randomNormal([c.batch, c.keys, width], 0, 1, 'float32', seed + 2),
    dy: tf.randomNormal([c.batch, c.queries, width], 0, 1, 'float32', seed + 3),
  }));
}

export const attrsOf = (c: AttentionCase): AttentionAttrs => ({
  heads: c.heads,
  scale: 1 / Math.sqrt(c.headDim),
});

/**
 * On the current backend: the fused forward against the primitive form; the fused gradients (all three; dq alone;
 * dk and dv alone) and tf.grad through the fused op against tf.grad of the primitive form; the largest relative L2
 * error of each.
 */
export async function compareWithPrimitive(c: AttentionCase) {
  const { q, k, v, dy } = attentionInputs(c);
  const attrs = attrsOf(c);
  // The values of new tensors, which are disposed.
  const read = async (ts: tf.Tensor[]) => {
    const values = await Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(ts);
    return values;
  };
  const [fused] = await read([attention(q, k, v, attrs)]);
  const [primitive] = await read([attentionPrimitive(q, k, v, attrs)]);
  const reference = await read(tf.grads((a, b, c2) => attentionPrimitive(a, b, c2, attrs))([q, k, v], dy));
  const all = await read(attentionGradient(q, k, v, dy, { ...attrs, gradients: 'qkv' }));
  const queryOnly = await read(attentionGradient(q, k, v, dy, { ...attrs, gradients: 'q' }));
  const keysValues = await read(attentionGradient(q, k, v, dy, { ...attrs, gradients: 'kv' }));
  const throughOp = await read(tf.grads((a, b, c2) => attention(a, b, c2, attrs))([q, k, v], dy));
  const worst = (got: Float32Array[], want: Float32Array[]) =>
    Math.max(...got.map((g, i) => relativeL2(g, want[i])));
  // The primitive gradient written out (no tape) against tf.grad of the primitive forward.
  const written = await read(attentionGradientPrimitive(q, k, v, dy, { ...attrs, gradients: 'qkv' }));
  tf.dispose([q, k, v, dy]);
  return {
    forward: relativeL2(fused, primitive),
    gradient: worst(all, reference),
    queryOnly: worst(queryOnly, reference.slice(0, 1)),
    keysValues: worst(keysValues, reference.slice(1)),
    throughOp: worst(throughOp, reference),
    writtenOut: worst(written, reference),
  };
}

/** Expects every compareWithPrimitive error below 1e-5 and no tensor left behind. */
export async function expectEqualToPrimitive(c: AttentionCase): Promise<void> {
  const before = tf.memory().numTensors;
  const errors = await compareWithPrimitive(c);
  const above = Object.entries(errors).filter(([, error]) => !(error < 1e-5));
  expect(above).toEqual([]);
  expect(tf.memory().numTensors).toBe(before);
}
