import * as tf from '@tensorflow/tfjs';
import { runFusedOr } from './fusedKernel';

/**
 * GroupNorm with affine parameters and an optional SiLU as one op (`SagGroupNorm`), and its input gradient as
 * another (`SagGroupNormGrad`): the converter writes them as single graph nodes instead of ~12 primitive ops
 * forward and ~25 backward. Where a backend has kernels for them (cpu, wasm, webgpu: see registerGroupNormKernels)
 * one or two kernels run; elsewhere the primitive form below runs, with the same result.
 */
export const SAG_GROUP_NORM = 'SagGroupNorm';
export const SAG_GROUP_NORM_GRAD = 'SagGroupNormGrad';

export type GroupNormActivation = 'none' | 'silu';

export interface GroupNormAttrs {
  groups: number;
  epsilon: number;
  activation: GroupNormActivation;
}

/** x [N, ..., C] (NHWC images, or tokens) with C divisible by groups; gamma and beta [C]. */
export function checkGroupNormInputs(x: tf.TensorInfo, gamma: tf.TensorInfo, groups: number): void {
  const channels = x.shape[x.shape.length - 1];
  if (x.shape.length < 2 || channels % groups !== 0 || gamma.shape[0] !== channels)
    throw new Error(
      `${SAG_GROUP_NORM}: expected channels-last input with channels divisible by ${groups} groups and ${channels} scales, got [${x.shape}] and [${gamma.shape}]`,
    );
}

/** Batch, positions per item (H * W for images) and channels of a channels-last tensor. */
export function groupNormGeometry(x: tf.TensorInfo): { batch: number; pixels: number; channels: number } {
  const batch = x.shape[0];
  const channels = x.shape[x.shape.length - 1];
  return { batch, pixels: tf.util.sizeFromShape(x.shape) / (batch * channels), channels };
}

/** Inside a tidy: x in groups [N, positions, G, C/G], normalized (xhat), with 1/sqrt(var + eps) per group. */
function normalizedGroups(x: tf.Tensor, attrs: GroupNormAttrs) {
  const { batch, pixels, channels } = groupNormGeometry(x);
  const groupedShape = [batch, pixels, attrs.groups, channels / attrs.groups];
  const grouped = tf.reshape(x, groupedShape);
  const centered = tf.sub(grouped, tf.mean(grouped, [1, 3], true));
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), [1, 3], true), attrs.epsilon));
  return { groupedShape, xhat: tf.mul(centered, rstd), rstd };
}

/** The primitive form (the portable fallback; also what older converted graphs contain). */
export function groupNormPrimitive(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  attrs: GroupNormAttrs,
): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.add(tf.mul(tf.reshape(normalizedGroups(x, attrs).xhat, x.shape), gamma), beta);
    return attrs.activation === 'silu' ? tf.mul(z, tf.sigmoid(z)) : z;
  });
}

/**
 * The input gradient in primitive ops, written out (no tape): with xhat = (x - mean) rstd and g = gamma act'(z) dy,
 * dx = rstd (g - mean(g) - xhat mean(g xhat)), means over each group.
 */
export function groupNormInputGradientPrimitive(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  dy: tf.Tensor,
  attrs: GroupNormAttrs,
): tf.Tensor {
  return tf.tidy(() => {
    const { groupedShape, xhat, rstd } = normalizedGroups(x, attrs);
    let dz = dy;
    if (attrs.activation === 'silu') {
      const z = tf.add(tf.mul(tf.reshape(xhat, x.shape), gamma), beta);
      const sig = tf.sigmoid(z);
      dz = tf.mul(dy, tf.mul(sig, tf.add(tf.mul(z, tf.sub(1, sig)), 1)));
    }
    const g = tf.reshape(tf.mul(dz, gamma), groupedShape);
    const meanG = tf.mean(g, [1, 3], true);
    const meanGXhat = tf.mean(tf.mul(g, xhat), [1, 3], true);
    return tf.reshape(tf.mul(rstd, tf.sub(tf.sub(g, meanG), tf.mul(xhat, meanGXhat))), x.shape);
  });
}

/** act(gamma * groupnorm(x) + beta). A new tensor (the caller disposes it). */
export function groupNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, attrs: GroupNormAttrs): tf.Tensor {
  return runFusedOr(SAG_GROUP_NORM, { x, gamma, beta }, attrs, () =>
    groupNormPrimitive(x, gamma, beta, attrs),
  );
}

/** The gradient of groupNorm w.r.t. x for the cotangent dy. A new tensor (the caller disposes it). */
export function groupNormInputGradient(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  dy: tf.Tensor,
  attrs: GroupNormAttrs,
): tf.Tensor {
  return runFusedOr(SAG_GROUP_NORM_GRAD, { x, gamma, beta, dy }, attrs, () =>
    groupNormInputGradientPrimitive(x, gamma, beta, dy, attrs),
  );
}

/** Attributes of a graph node, as tfjs-converter hands them to a custom op (strings lower-cased). */
function attrsOfNode(attrs: Record<string, unknown>): GroupNormAttrs {
  const activation = String(attrs.activation ?? 'none');
  if (activation !== 'none' && activation !== 'silu')
    throw new Error(`${SAG_GROUP_NORM}: unknown activation '${activation}'`);
  return { groups: Number(attrs.groups), epsilon: Number(attrs.epsilon), activation };
}

let registered = false;

/**
 * Registers the ops with tfjs-converter (graph models may contain them) and the forward op's gradient with tfjs
 * (tf.grad through a graph). Idempotent; runs when this module is imported.
 */
export function registerGroupNormOps(): void {
  if (registered) return;
  registered = true;
  tf.registerOp(SAG_GROUP_NORM, (node) => {
    const [x, gamma, beta] = node.inputs;
    return groupNorm(x, gamma, beta, attrsOfNode(node.attrs));
  });
  tf.registerOp(SAG_GROUP_NORM_GRAD, (node) => {
    const [x, gamma, beta, dy] = node.inputs;
    return groupNormInputGradient(x, gamma, beta, dy, attrsOfNode(node.attrs));
  });
  // Only x's gradient: converted models never differentiate their weights.
  tf.registerGradient({
    kernelName: SAG_GROUP_NORM,
    inputsToSave: ['x', 'gamma', 'beta'],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma, beta] = saved;
      return {
        x: () => groupNormInputGradient(x, gamma, beta, dy as tf.Tensor, attrs as unknown as GroupNormAttrs),
      };
    },
  });
}

registerGroupNormOps();
