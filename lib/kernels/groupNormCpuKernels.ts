import * as tf from '@tensorflow/tfjs';
import { WasmHeapBackend, activeNativeMatrixProducts, offsetOf } from '../backend/nativeMatrixProducts';
import {
  GroupNormGeometry,
  GroupNormParams,
  groupNormForward,
  groupNormInputGradient,
} from './groupNormMath';
import { CpuBackendLike } from './backendInterfaces';
import {
  GroupNormAttrs,
  SAG_GROUP_NORM,
  SAG_GROUP_NORM_GRAD,
  checkGroupNormInputs,
  groupNormGeometry,
} from './groupNormOp';

/** What the JavaScript loops need of tfjs-backend-wasm besides the heap. */
interface WasmBackendLike extends WasmHeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

function geometry(x: tf.TensorInfo, groups: number): GroupNormGeometry {
  return { ...groupNormGeometry(x), groups };
}

function params(attrs: GroupNormAttrs): GroupNormParams {
  return { epsilon: attrs.epsilon, silu: attrs.activation === 'silu' };
}

type Compute = (
  inputs: Float32Array[],
  geo: GroupNormGeometry,
  p: GroupNormParams,
  out: Float32Array,
) => void;

const forward: Compute = ([x, gamma, beta], geo, p, out) => groupNormForward(x, gamma, beta, geo, p, out);
const inputGradient: Compute = ([x, gamma, beta, dy], geo, p, out) =>
  groupNormInputGradient(x, gamma, beta, dy, geo, p, out);

/** The kernel's float32 inputs in `names` order, checked, with the attributes. */
function kernelArguments(args: Parameters<tf.KernelFunc>[0], names: string[]) {
  const attrs = args.attrs as unknown as GroupNormAttrs;
  const tensors = names.map((name) => {
    const t = args.inputs[name];
    if (!t || t.dtype !== 'float32') throw new Error(`${SAG_GROUP_NORM}: input '${name}' must be float32`);
    return t;
  });
  checkGroupNormInputs(tensors[0], tensors[1], attrs.groups);
  return { tensors, geo: geometry(tensors[0], attrs.groups), params: params(attrs) };
}

function cpuKernel(names: string[], compute: Compute): tf.KernelFunc {
  return (args) => {
    const { tensors, geo, params } = kernelArguments(args, names);
    const cpu = args.backend as unknown as CpuBackendLike;
    const values = tensors.map((t) => cpu.data.get(t.dataId).values as Float32Array);
    const out = new Float32Array(tf.util.sizeFromShape(tensors[0].shape));
    compute(values, geo, params, out);
    return cpu.makeTensorInfo(tensors[0].shape, 'float32', out);
  };
}

function wasmKernel(names: string[], compute: Compute): tf.KernelFunc {
  return (args) => {
    const { tensors, geo, params } = kernelArguments(args, names);
    const wasm = args.backend as unknown as WasmBackendLike;
    // The output first: allocating may grow the heap, which detaches views taken before.
    const output = wasm.makeOutput(tensors[0].shape, 'float32');
    const native = activeNativeMatrixProducts();
    if (native) {
      // sag's addon: the same loops in C, vectorised (measured 6-8x the JavaScript ones on [16, 32, 32, 48]).
      const offset = (t: tf.TensorInfo | undefined) => (t ? offsetOf(wasm, t) : 0);
      const [x, gamma, beta, dy] = tensors;
      native.groupNorm(
        wasm.wasm.HEAPU8,
        offset(x),
        offset(gamma),
        offset(beta),
        offset(dy),
        offset(output),
        geo.batch,
        geo.pixels,
        geo.channels,
        geo.groups,
        params.silu ? 1 : 0,
        params.epsilon,
      );
      return output;
    }
    const values = tensors.map((t) => wasm.typedArrayFromHeap(t));
    compute(values, geo, params, wasm.typedArrayFromHeap(output));
    return output;
  };
}

const FORWARD_INPUTS = ['x', 'gamma', 'beta'];
const GRADIENT_INPUTS = ['x', 'gamma', 'beta', 'dy'];

/** The JavaScript kernels of SagGroupNorm and SagGroupNormGrad on the cpu and wasm backends. */
export const GROUP_NORM_CPU_KERNELS: tf.KernelConfig[] = [
  { kernelName: SAG_GROUP_NORM, backendName: 'cpu', kernelFunc: cpuKernel(FORWARD_INPUTS, forward) },
  {
    kernelName: SAG_GROUP_NORM_GRAD,
    backendName: 'cpu',
    kernelFunc: cpuKernel(GRADIENT_INPUTS, inputGradient),
  },
  { kernelName: SAG_GROUP_NORM, backendName: 'wasm', kernelFunc: wasmKernel(FORWARD_INPUTS, forward) },
  {
    kernelName: SAG_GROUP_NORM_GRAD,
    backendName: 'wasm',
    kernelFunc: wasmKernel(GRADIENT_INPUTS, inputGradient),
  },
];
