import * as tf from '@tensorflow/tfjs';

/**
 * What sag's kernels need of the backends' classes (tfjs-backend-cpu, tfjs-backend-webgpu; wasm's is in
 * lib/backend/nativeMatrixProducts.ts). The packages are not imported: webgpu's is optional.
 */

export interface CpuBackendLike {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

/** Programs follow tfjs-backend-webgpu's WebGPUProgram contract (it writes the bindings, uniforms and `_start`). */
export interface WebgpuBackendLike {
  runWebGPUProgram(
    program: object,
    inputs: tf.TensorInfo[],
    outputDtype: 'float32',
    uniforms?: { type: 'int32' | 'float32'; data: number[] }[],
  ): tf.TensorInfo;
  disposeData(dataId: object): void;
}
