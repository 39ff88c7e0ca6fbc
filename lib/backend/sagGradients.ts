import { CPU_RESIZE_NEAREST_GRADIENT } from './cpuResizeNearestGradient';
import { DEPTHWISE_CONV_GRADIENT } from './depthwiseConvGradient';
import { FAST_CONV_GRADIENT } from './fastConvGradient';
import { MULTIPLY_GRADIENT } from './multiplyGradient';
import { NATIVE_CONV2D } from './nativeMatrixProducts';
import { Replacement } from './replacement';
import { WASM_TRANSPOSED_MATMUL } from './wasmTransposedMatMul';

/**
 * Every change sag makes to tfjs for the whole process. They are exact (tested against the stock kernels) and
 * faster, or fix a wrong stock gradient; but they also apply to any other tfjs code in the same process.
 */
export const SAG_REPLACEMENTS: readonly Replacement[] = [
  FAST_CONV_GRADIENT,
  DEPTHWISE_CONV_GRADIENT,
  MULTIPLY_GRADIENT,
  CPU_RESIZE_NEAREST_GRADIENT,
  WASM_TRANSPOSED_MATMUL,
  NATIVE_CONV2D,
];

/**
 * Installs sag's gradient and kernel replacements (idempotent). `startBackend` calls it unless told
 * `{ sagGradients: false }`; a kernel replacement whose backend is not loaded yet is installed by a later call.
 * Returns what is installed.
 */
export function registerSagGradients(): string[] {
  for (const replacement of SAG_REPLACEMENTS) replacement.install();
  return installedSagGradients();
}

/** Puts tfjs's own gradients and kernels back (idempotent). */
export function restoreStockGradients(): void {
  for (const replacement of SAG_REPLACEMENTS) replacement.uninstall();
}

export function installedSagGradients(): string[] {
  return SAG_REPLACEMENTS.filter((r) => r.installed).map((r) => r.what);
}
