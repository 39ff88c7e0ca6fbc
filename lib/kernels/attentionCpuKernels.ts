import * as tf from '@tensorflow/tfjs';
import { WasmHeapBackend, activeNativeMatrixProducts, offsetOf } from '../backend/nativeMatrixProducts';
import { attentionForward, attentionGradient } from './attentionMath';
import { CpuBackendLike } from './backendInterfaces';
import { AttentionGradAttrs, SAG_ATTENTION, SAG_ATTENTION_GRAD, attentionKernelInputs } from './attentionOp';
import { setFusedKernelCondition } from './fusedKernel';

/** The kernel's checked inputs, their geometry and the attributes. */
function kernelArguments(args: Parameters<tf.KernelFunc>[0], names: string[]) {
  const attrs = args.attrs as unknown as AttentionGradAttrs;
  return { ...attentionKernelInputs(args.inputs, names, attrs), attrs };
}

const FORWARD_INPUTS = ['q', 'k', 'v'];
const GRADIENT_INPUTS = ['q', 'k', 'v', 'dy'];

const cpuForward: tf.KernelFunc = (args) => {
  const { tensors, geo, attrs } = kernelArguments(args, FORWARD_INPUTS);
  const cpu = args.backend as unknown as CpuBackendLike;
  const [q, k, v] = tensors.map((t) => cpu.data.get(t.dataId).values as Float32Array);
  const out = new Float32Array(tf.util.sizeFromShape(tensors[0].shape));
  attentionForward(q, k, v, geo, attrs.scale, out);
  return cpu.makeTensorInfo(tensors[0].shape, 'float32', out);
};

const cpuGradient: tf.KernelFunc = (args) => {
  const { tensors, geo, attrs } = kernelArguments(args, GRADIENT_INPUTS);
  const cpu = args.backend as unknown as CpuBackendLike;
  const [q, k, v, dy] = tensors.map((t) => cpu.data.get(t.dataId).values as Float32Array);
  const wanted = (input: 'q' | 'k' | 'v', like: Float32Array) =>
    attrs.gradients.includes(input) ? new Float32Array(like.length) : null;
  const outputs = { dq: wanted('q', q), dk: wanted('k', k), dv: wanted('v', v) };
  attentionGradient(q, k, v, dy, geo, attrs.scale, outputs);
  return [
    [outputs.dq, tensors[0]],
    [outputs.dk, tensors[1]],
    [outputs.dv, tensors[2]],
  ]
    .filter(([values]) => values !== null)
    .map(([values, like]) =>
      cpu.makeTensorInfo((like as tf.TensorInfo).shape, 'float32', values as Float32Array),
    );
};

/** sag's native addon on the wasm heap (the kernel runs only while it is active; see setFusedKernelCondition). */
function nativeKernel(names: string[]): tf.KernelFunc {
  return (args) => {
    const { tensors, geo, attrs } = kernelArguments(args, names);
    const native = activeNativeMatrixProducts();
    if (!native) throw new Error(`${SAG_ATTENTION}: wasm's kernel needs sag's native kernels`);
    const wasm = args.backend as unknown as WasmHeapBackend;
    const gradient = names.length === 4;
    // Outputs first: allocating may grow the heap, which detaches views taken before.
    const outputs = gradient
      ? (['q', 'k', 'v'] as const).map((input, i) =>
          attrs.gradients.includes(input) ? wasm.makeOutput(tensors[i].shape, 'float32') : null,
        )
      : [wasm.makeOutput(tensors[0].shape, 'float32')];
    const offset = (t: tf.TensorInfo | null | undefined) => (t ? offsetOf(wasm, t) : 0);
    const [q, k, v, dy] = tensors;
    native.attention(
      wasm.wasm.HEAPU8,
      offset(q),
      offset(k),
      offset(v),
      offset(dy),
      offset(outputs[0]),
      offset(outputs[1]),
      offset(outputs[2]),
      geo.batch,
      geo.queries,
      geo.keys,
      geo.heads,
      geo.headDim,
      attrs.scale,
    );
    const made = outputs.filter((t): t is tf.TensorInfo => t !== null);
    return gradient ? made : made[0];
  };
}

/**
 * The kernels of SagAttention and SagAttentionGrad on cpu (JavaScript loops) and wasm (sag's native addon only:
 * without it wasm's XNNPACK matrix products in the primitive form are faster than loops in JavaScript).
 */
export const ATTENTION_CPU_KERNELS: tf.KernelConfig[] = [
  { kernelName: SAG_ATTENTION, backendName: 'cpu', kernelFunc: cpuForward },
  { kernelName: SAG_ATTENTION_GRAD, backendName: 'cpu', kernelFunc: cpuGradient },
  { kernelName: SAG_ATTENTION, backendName: 'wasm', kernelFunc: nativeKernel(FORWARD_INPUTS) },
  { kernelName: SAG_ATTENTION_GRAD, backendName: 'wasm', kernelFunc: nativeKernel(GRADIENT_INPUTS) },
];

for (const kernelName of [SAG_ATTENTION, SAG_ATTENTION_GRAD])
  setFusedKernelCondition(kernelName, 'wasm', () => activeNativeMatrixProducts() !== null);
