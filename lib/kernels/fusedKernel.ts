import * as tf from '@tensorflow/tfjs';

/**
 * Conditions under which a backend's kernel for a fused op runs (e.g. wasm's attention kernel needs sag's native
 * addon; without it the primitive form on XNNPACK is faster). Kernels without a condition always run.
 */
const kernelConditions = new Map<string, () => boolean>();

const conditionKey = (kernelName: string, backendName: string) => `${kernelName}@${backendName}`;

/** Makes `kernelName`'s kernel on `backendName` run only while `condition()` holds. */
export function setFusedKernelCondition(
  kernelName: string,
  backendName: string,
  condition: () => boolean,
): void {
  kernelConditions.set(conditionKey(kernelName, backendName), condition);
}

/** Whether the current backend has a kernel for `kernelName` that runs now. */
export function fusedKernelRuns(kernelName: string): boolean {
  const backend = tf.getBackend();
  if (tf.getKernel(kernelName, backend) === undefined) return false;
  return kernelConditions.get(conditionKey(kernelName, backend))?.() ?? true;
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
  if (!fusedKernelRuns(kernelName)) return primitive();
  return tf.engine().runKernel(kernelName, inputs, attrs as unknown as tf.NamedAttrMap) as T;
}
