import * as tf from '@tensorflow/tfjs';

/**
 * Whether a kernel runs for these inputs and attributes (absent: whether it runs for some). E.g. wasm's attention
 * kernel needs sag's native addon (without it the primitive form on XNNPACK is faster).
 */
export type KernelCondition = (inputs?: tf.NamedTensorMap, attrs?: object) => boolean;

/** Conditions under which a backend's kernel for a fused op runs; kernels without one always run. */
const kernelConditions = new Map<string, KernelCondition>();

const conditionKey = (kernelName: string, backendName: string) => `${kernelName}@${backendName}`;

/** Makes `kernelName`'s kernel on `backendName` run only where `condition` holds. */
export function setFusedKernelCondition(
  kernelName: string,
  backendName: string,
  condition: KernelCondition,
): void {
  kernelConditions.set(conditionKey(kernelName, backendName), condition);
}

/** Whether the current backend has a kernel for `kernelName` that runs now (for these inputs, where given). */
export function fusedKernelRuns(kernelName: string, inputs?: tf.NamedTensorMap, attrs?: object): boolean {
  const backend = tf.getBackend();
  if (tf.getKernel(kernelName, backend) === undefined) return false;
  return kernelConditions.get(conditionKey(kernelName, backend))?.(inputs, attrs) ?? true;
}

/**
 * The kernel `kernelName` on the current backend (it checks its inputs), or `primitive` where the backend has none
 * that runs now. What the kernel returns is new (the caller disposes it).
 */
export function runFusedOr<T extends tf.Tensor | tf.Tensor[]>(
  kernelName: string,
  inputs: tf.NamedTensorMap,
  attrs: object,
  primitive: () => T,
): T {
  if (!fusedKernelRuns(kernelName, inputs, attrs)) return primitive();
  return tf.engine().runKernel(kernelName, inputs, attrs as unknown as tf.NamedAttrMap) as T;
}
