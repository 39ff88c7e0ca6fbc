import * as tf from '@tensorflow/tfjs';
import { WebgpuBackendLike } from './backendInterfaces';
import {
  GroupNormAttrs,
  SAG_GROUP_NORM,
  SAG_GROUP_NORM_GRAD,
  checkGroupNormInputs,
  groupNormGeometry,
} from './groupNormOp';

/**
 * SagGroupNorm and SagGroupNormGrad on webgpu, two dispatches each: a statistics pass with one workgroup per
 * (image, group) that reduces in workgroup memory, then an elementwise pass. Programs follow tfjs-backend-webgpu's
 * WebGPUProgram contract (it writes the bindings, the uniforms struct and `_start`; `getUserCode` gives `main`).
 */

const STATS_WORKGROUP = 256;
const ELEMENTWISE_WORKGROUP = 64;
const GEOMETRY_UNIFORMS = 'pixels : i32, channels : i32, groups : i32, perGroup : i32, epsilon : f32,';

function flatLayout(rank: number) {
  return { x: Array.from({ length: rank }, (_, i) => i) };
}

/** Workgroup-wide sum of one value per thread (all threads must call it). */
const WORKGROUP_SUM = `
  var<workgroup> partialSums : array<f32, ${STATS_WORKGROUP}>;
  fn workgroupSum(value : f32) -> f32 {
    partialSums[localIndex] = value;
    workgroupBarrier();
    for (var stride = ${STATS_WORKGROUP / 2}u; stride > 0u; stride = stride >> 1u) {
      if (localIndex < stride) {
        partialSums[localIndex] = partialSums[localIndex] + partialSums[localIndex + stride];
      }
      workgroupBarrier();
    }
    let total = partialSums[0];
    workgroupBarrier();
    return total;
  }
  // The flat index of the k-th element of group g of image n (NHWC).
  fn groupElement(n : i32, g : i32, k : i32) -> i32 {
    let pixel = k / uniforms.perGroup;
    return (n * uniforms.pixels + pixel) * uniforms.channels + g * uniforms.perGroup + (k - pixel * uniforms.perGroup);
  }
`;

/**
 * One workgroup per (image, group): mean and rstd, and for the gradient the group means of g and g xhat; written as
 * one row of 2 (or 4) values per group.
 */
function statsCode(gradient: boolean, silu: boolean): string {
  const gradientPart = gradient
    ? `
    var sumG = 0.0;
    var sumGXhat = 0.0;
    for (var k = i32(localIndex); k < count; k = k + ${STATS_WORKGROUP}) {
      let i = groupElement(n, g, k);
      let c = i % uniforms.channels;
      let xhat = (x[i] - mean) * rstd;
      ${dzSnippet(silu)}
      let gx = dz * gamma[c];
      sumG = sumG + gx;
      sumGXhat = sumGXhat + gx * xhat;
    }
    let meanG = workgroupSum(sumG) / f32(count);
    let meanGXhat = workgroupSum(sumGXhat) / f32(count);
    if (localIndex == 0u) {
      result[row * 4] = mean;
      result[row * 4 + 1] = rstd;
      result[row * 4 + 2] = meanG;
      result[row * 4 + 3] = meanGXhat;
    }`
    : `
    if (localIndex == 0u) {
      result[row * 2] = mean;
      result[row * 2 + 1] = rstd;
    }`;
  return `
  ${WORKGROUP_SUM}
  fn main(index : i32) {
    let row = index / ${STATS_WORKGROUP};
    let n = row / uniforms.groups;
    let g = row - n * uniforms.groups;
    let count = uniforms.pixels * uniforms.perGroup;
    var sum = 0.0;
    for (var k = i32(localIndex); k < count; k = k + ${STATS_WORKGROUP}) {
      sum = sum + x[groupElement(n, g, k)];
    }
    let mean = workgroupSum(sum) / f32(count);
    var squares = 0.0;
    for (var k = i32(localIndex); k < count; k = k + ${STATS_WORKGROUP}) {
      let d = x[groupElement(n, g, k)] - mean;
      squares = squares + d * d;
    }
    let rstd = inverseSqrt(workgroupSum(squares) / f32(count) + uniforms.epsilon);
    ${gradientPart}
  }`;
}

/** dz = dL/dz at element i with channel c, from xhat (the SiLU's derivative when fused). */
function dzSnippet(silu: boolean): string {
  return silu
    ? `let z = gamma[c] * xhat + beta[c];
      let sig = 1.0 / (1.0 + exp(-z));
      let dz = dy[i] * sig * (1.0 + z * (1.0 - sig));`
    : `let dz = dy[i];`;
}

/**
 * The gradient programs' inputs: beta only with the SiLU (WebGPU drops a binding the shader does not use, and then
 * refuses the bind group that has it).
 */
function gradientInputs(silu: boolean, withStats: boolean): string[] {
  return ['x', ...(withStats ? ['stats'] : []), 'gamma', ...(silu ? ['beta'] : []), 'dy'];
}

function statsProgram(rows: number, gradient: boolean, silu: boolean): object {
  const width = gradient ? 4 : 2;
  return {
    outputShape: [rows, width],
    shaderKey: `sagGroupNormStats_${gradient ? 'grad' : 'fwd'}_${silu ? 'silu' : 'none'}`,
    dispatchLayout: flatLayout(2),
    dispatch: [rows, 1, 1],
    workgroupSize: [STATS_WORKGROUP, 1, 1],
    variableNames: gradient ? gradientInputs(silu, false) : ['x'],
    uniforms: GEOMETRY_UNIFORMS,
    getUserCode: () => statsCode(gradient, silu),
  };
}

function applyCode(gradient: boolean, silu: boolean): string {
  const body = gradient
    ? `let xhat = (x[index] - stats[row * 4]) * stats[row * 4 + 1];
      let i = index;
      ${dzSnippet(silu)}
      let gx = dz * gamma[c];
      setOutputAtIndex(index, stats[row * 4 + 1] * (gx - stats[row * 4 + 2] - xhat * stats[row * 4 + 3]));`
    : `let z = (x[index] - stats[row * 2]) * stats[row * 2 + 1] * gamma[c] + beta[c];
      setOutputAtIndex(index, ${silu ? 'z / (1.0 + exp(-z))' : 'z'});`;
  return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let c = index % uniforms.channels;
      let n = index / (uniforms.pixels * uniforms.channels);
      let row = n * uniforms.groups + c / uniforms.perGroup;
      ${body}
    }
  }`;
}

function applyProgram(shape: number[], gradient: boolean, silu: boolean): object {
  const size = tf.util.sizeFromShape(shape);
  return {
    outputShape: shape,
    shaderKey: `sagGroupNormApply_${gradient ? 'grad' : 'fwd'}_${silu ? 'silu' : 'none'}`,
    dispatchLayout: flatLayout(shape.length),
    dispatch: [Math.ceil(size / ELEMENTWISE_WORKGROUP), 1, 1],
    workgroupSize: [ELEMENTWISE_WORKGROUP, 1, 1],
    variableNames: gradient ? gradientInputs(silu, true) : ['x', 'stats', 'gamma', 'beta'],
    uniforms: GEOMETRY_UNIFORMS,
    size: true,
    getUserCode: () => applyCode(gradient, silu),
  };
}

function webgpuKernel(gradient: boolean): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as GroupNormAttrs;
    const { x, gamma, beta, dy } = inputs as Record<string, tf.TensorInfo>;
    checkGroupNormInputs(x, gamma, a.groups);
    const gpu = backend as unknown as WebgpuBackendLike;
    const { batch, pixels, channels } = groupNormGeometry(x);
    const silu = a.activation === 'silu';
    const uniforms = [
      { type: 'int32' as const, data: [pixels] },
      { type: 'int32' as const, data: [channels] },
      { type: 'int32' as const, data: [a.groups] },
      { type: 'int32' as const, data: [channels / a.groups] },
      { type: 'float32' as const, data: [a.epsilon] },
    ];
    const byName: Record<string, tf.TensorInfo> = { x, gamma, beta, dy };
    const named = (names: string[], stats?: tf.TensorInfo) =>
      names.map((name) => (name === 'stats' ? (stats as tf.TensorInfo) : byName[name]));
    const statsInputs = gradient ? named(gradientInputs(silu, false)) : [x];
    const stats = gpu.runWebGPUProgram(
      statsProgram(batch * a.groups, gradient, silu),
      statsInputs,
      'float32',
      uniforms,
    );
    const applyInputs = gradient ? named(gradientInputs(silu, true), stats) : [x, stats, gamma, beta];
    const out = gpu.runWebGPUProgram(applyProgram(x.shape, gradient, silu), applyInputs, 'float32', uniforms);
    gpu.disposeData(stats.dataId);
    return out;
  };
}

export const GROUP_NORM_WEBGPU_KERNELS: tf.KernelConfig[] = [
  { kernelName: SAG_GROUP_NORM, backendName: 'webgpu', kernelFunc: webgpuKernel(false) },
  { kernelName: SAG_GROUP_NORM_GRAD, backendName: 'webgpu', kernelFunc: webgpuKernel(true) },
];
