export { BACKEND_CHOICES, parseBackendChoice } from './backendNames';
export type { BackendChoice } from './backendNames';
export { startBackend } from './startBackend';
export { MAX_WASM_THREADS, askedWasmThreadCount, stopThreadedWasm, wasmThreadCount } from './wasmThreads';
export type { StartedBackend, StartBackendOptions } from './startBackend';
export {
  convInputGradientAsForwardConv,
  convFilterGradientAsForwardConv,
  flipSpatially,
} from './fastConvGradient';
export { depthwiseInputGradientAsForwardConv } from './depthwiseConvGradient';
export {
  registerSagGradients,
  restoreStockGradients,
  installedSagGradients,
  SAG_REPLACEMENTS,
} from './sagGradients';
export type { Replacement } from './replacement';
export { readValues, readNumbers, readScalar } from './readTensor';
export { assertDeviceHealthy } from './deviceHealth';
export { startWebgpuBackend, summarizeAdapter } from './webgpuBackend';
export type { WebgpuAdapterSummary, WebgpuStart } from './webgpuBackend';
