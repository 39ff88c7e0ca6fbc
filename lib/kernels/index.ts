import * as tf from '@tensorflow/tfjs';
import { ATTENTION_CPU_KERNELS } from './attentionCpuKernels';
import { ATTENTION_WEBGPU_KERNELS } from './attentionWebgpuKernels';
import { GROUP_NORM_CPU_KERNELS } from './groupNormCpuKernels';
import { GROUP_NORM_WEBGPU_KERNELS } from './groupNormWebgpuKernels';

export * from './attentionOp';
export * from './groupNormOp';
export { fusedKernelRuns } from './fusedKernel';

/** sag's own kernels (fused graph ops), for every backend that has them. */
export const SAG_KERNELS: readonly tf.KernelConfig[] = [
  ...GROUP_NORM_CPU_KERNELS,
  ...ATTENTION_CPU_KERNELS,
  ...GROUP_NORM_WEBGPU_KERNELS,
  ...ATTENTION_WEBGPU_KERNELS,
];

let registered = false;

/** Registers sag's kernels with tfjs (idempotent; runs when this module is imported). */
export function registerSagKernels(): void {
  if (registered) return;
  registered = true;
  for (const kernel of SAG_KERNELS)
    if (!tf.getKernel(kernel.kernelName, kernel.backendName)) tf.registerKernel(kernel);
}

registerSagKernels();
