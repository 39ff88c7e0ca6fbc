import * as tf from '@tensorflow/tfjs';
import { runFusedOr } from './fusedKernel';

/**
 * Multi-head scaled dot-product attention as one op (`SagAttention`) and its input gradients as another
 * (`SagAttentionGrad`): the converter writes them as single graph nodes instead of ~10 primitive ops forward
 * (head split, scores, scale, softmax, mix, head merge) and ~20 backward. The kernels (cpu; wasm with sag's native
 * addon; webgpu) never keep the [Tq, Tk] probabilities between forward and backward: the backward recomputes them,
 * so a VJP graph holds O(T) per attention instead of O(T^2). Elsewhere the primitive form below runs, with the
 * same result.
 *
 * Tokens stay in their projected layout [B, T, heads * headDim] (head h is columns h * headDim ...): no transposes.
 */
export const SAG_ATTENTION = 'SagAttention';
export const SAG_ATTENTION_GRAD = 'SagAttentionGrad';

export interface AttentionAttrs {
  heads: number;
  /** Multiplies q . k before the softmax (1 / sqrt(headDim) in every model sag converts). */
  scale: number;
}

/** Which input gradients SagAttentionGrad computes, in this order: 'qkv', or a subsequence such as 'q' or 'kv'. */
export type AttentionGradients = string;

export interface AttentionGradAttrs extends AttentionAttrs {
  gradients: AttentionGradients;
}

/** Batch, token counts and head size of q [B, Tq, H D], k [B, Tk, H D], v [B, Tk, H D], checked. */
export interface AttentionGeometry {
  batch: number;
  queries: number;
  keys: number;
  heads: number;
  headDim: number;
}

export function attentionGeometry(
  q: tf.TensorInfo,
  k: tf.TensorInfo,
  v: tf.TensorInfo,
  heads: number,
): AttentionGeometry {
  const [batch, queries, width] = q.shape;
  const ok =
    q.shape.length === 3 &&
    k.shape.length === 3 &&
    v.shape.length === 3 &&
    Number.isInteger(heads) &&
    heads > 0 &&
    width % heads === 0 &&
    k.shape[0] === batch &&
    v.shape[0] === batch &&
    k.shape[2] === width &&
    v.shape[2] === width &&
    v.shape[1] === k.shape[1];
  if (!ok)
    throw new Error(
      `${SAG_ATTENTION}: expected q [B, Tq, C], k and v [B, Tk, C] with C divisible by ${heads} heads, got [${q.shape}], [${k.shape}], [${v.shape}]`,
    );
  return { batch, queries, keys: k.shape[1], heads, headDim: width / heads };
}

export function checkAttentionGradients(gradients: string): void {
  if (!/^q?k?v?$/.test(gradients) || gradients === '')
    throw new Error(
      `${SAG_ATTENTION_GRAD}: gradients must be a non-empty subsequence of 'qkv', got '${gradients}'`,
    );
}

/**
 * A kernel's float32 inputs in `names` order (q, k, v, and dy for the gradient), checked, with their geometry; the
 * gradient's dy must have q's shape and its gradient list must be valid.
 */
export function attentionKernelInputs(
  inputs: tf.NamedTensorInfoMap,
  names: string[],
  attrs: AttentionAttrs & Partial<AttentionGradAttrs>,
): { tensors: tf.TensorInfo[]; geo: AttentionGeometry } {
  const tensors = names.map((name) => {
    const t = inputs[name];
    if (!t || t.dtype !== 'float32') throw new Error(`${SAG_ATTENTION}: input '${name}' must be float32`);
    return t;
  });
  const geo = attentionGeometry(tensors[0], tensors[1], tensors[2], attrs.heads);
  if (tensors[3]) {
    if (!tf.util.arraysEqual(tensors[3].shape, tensors[0].shape))
      throw new Error(
        `${SAG_ATTENTION_GRAD}: dy [${tensors[3].shape}] must have q's shape [${tensors[0].shape}]`,
      );
    checkAttentionGradients(attrs.gradients ?? '');
  }
  return { tensors, geo };
}

/** Inside a tidy: [B, T, H D] -> [B, H, T, D]. */
function splitHeads(t: tf.Tensor, heads: number): tf.Tensor4D {
  const [batch, tokens, width] = t.shape;
  return tf.transpose(tf.reshape(t, [batch, tokens, heads, width / heads]), [0, 2, 1, 3]);
}

/** Inside a tidy: [B, H, T, D] -> [B, T, H D]. */
function mergeHeads(t: tf.Tensor): tf.Tensor3D {
  const [batch, heads, tokens, headDim] = t.shape;
  return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [batch, tokens, heads * headDim]);
}

/** Inside a tidy: the probabilities softmax(scale q k^T) [B, H, Tq, Tk] and the split heads. */
function probabilities(q: tf.Tensor, k: tf.Tensor, attrs: AttentionAttrs) {
  const qh = splitHeads(q, attrs.heads);
  const kh = splitHeads(k, attrs.heads);
  return { qh, kh, p: tf.softmax(tf.mul(tf.matMul(qh, kh, false, true), attrs.scale)) };
}

/** The primitive form (the portable fallback). */
export function attentionPrimitive(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  attrs: AttentionAttrs,
): tf.Tensor {
  attentionGeometry(q, k, v, attrs.heads);
  return tf.tidy(() => mergeHeads(tf.matMul(probabilities(q, k, attrs).p, splitHeads(v, attrs.heads))));
}

/**
 * The input gradients in primitive ops, written out (no tape): with P = softmax(S), S = scale Q K^T, O = P V,
 * dV = P^T dO, dS = P (dP - rowsum(dP P)) with dP = dO V^T, dQ = scale dS K, dK = scale dS^T Q.
 */
export function attentionGradientPrimitive(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  dy: tf.Tensor,
  attrs: AttentionGradAttrs,
): tf.Tensor[] {
  attentionGeometry(q, k, v, attrs.heads);
  checkAttentionGradients(attrs.gradients);
  return tf.tidy(() => {
    const { qh, kh, p } = probabilities(q, k, attrs);
    const dyh = splitHeads(dy, attrs.heads);
    const grads: tf.Tensor[] = [];
    if (attrs.gradients.includes('q') || attrs.gradients.includes('k')) {
      const dp = tf.matMul(dyh, splitHeads(v, attrs.heads), false, true);
      const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
      if (attrs.gradients.includes('q')) grads.push(mergeHeads(tf.mul(tf.matMul(ds, kh), attrs.scale)));
      if (attrs.gradients.includes('k')) grads.push(mergeHeads(tf.mul(tf.matMul(ds, qh, true), attrs.scale)));
    }
    if (attrs.gradients.includes('v')) grads.push(mergeHeads(tf.matMul(p, dyh, true)));
    return grads;
  });
}

/** softmax(scale q k^T) v per head, [B, Tq, H D]. A new tensor (the caller disposes it). */
export function attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, attrs: AttentionAttrs): tf.Tensor {
  return runFusedOr(SAG_ATTENTION, { q, k, v }, attrs, () => attentionPrimitive(q, k, v, attrs));
}

/**
 * The gradients of attention w.r.t. the inputs named in `attrs.gradients` (in that order), for the cotangent dy.
 * New tensors (the caller disposes them).
 */
export function attentionGradient(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  dy: tf.Tensor,
  attrs: AttentionGradAttrs,
): tf.Tensor[] {
  const grads = runFusedOr<tf.Tensor | tf.Tensor[]>(SAG_ATTENTION_GRAD, { q, k, v, dy }, attrs, () =>
    attentionGradientPrimitive(q, k, v, dy, attrs),
  );
  return Array.isArray(grads) ? grads : [grads];
}

/** Attributes of a graph node, as tfjs-converter hands them to a custom op. */
function attrsOfNode(attrs: Record<string, unknown>): AttentionGradAttrs {
  return {
    heads: Number(attrs.heads),
    scale: Number(attrs.scale),
    gradients: String(attrs.gradients ?? 'qkv'),
  };
}

let registered = false;

/**
 * Registers the ops with tfjs-converter and the forward op's gradient with tfjs (tf.grad through a graph).
 * Idempotent; runs when this module is imported.
 */
export function registerAttentionOps(): void {
  if (registered) return;
  registered = true;
  tf.registerOp(SAG_ATTENTION, (node) => {
    const [q, k, v] = node.inputs;
    return attention(q, k, v, attrsOfNode(node.attrs));
  });
  tf.registerOp(SAG_ATTENTION_GRAD, (node) => {
    const [q, k, v, dy] = node.inputs;
    return attentionGradient(q, k, v, dy, attrsOfNode(node.attrs));
  });
  tf.registerGradient({
    kernelName: SAG_ATTENTION,
    inputsToSave: ['q', 'k', 'v'],
    gradFunc: (dy, saved, attrs) => {
      const [q, k, v] = saved;
      // All three in one call, here rather than in the closures: tfjs runs each closure in its own tidy (one call per
      // input would recompute the probabilities each time); gradients nothing asks for are disposed with the tape.
      const [dq, dk, dv] = attentionGradient(q, k, v, dy as tf.Tensor, {
        ...(attrs as unknown as AttentionAttrs),
        gradients: 'qkv',
      });
      return { q: () => dq, k: () => dk, v: () => dv };
    },
  });
}

registerAttentionOps();
