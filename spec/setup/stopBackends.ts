import { stopThreadedWasm } from '../../lib/backend';
import { stopWebgpuDevice } from '../../lib/backend/webgpuBackend';

// Jest loads the library afresh for every test file in the same process; without this, each file's threaded wasm
// backend would leave its 8 pthread workers (and ~100 MB) behind until the whole run ends, and a WebGPU device
// (whose pending `lost` promise keeps Dawn's event loop alive) would keep the worker from exiting at the end: jest
// then force-exits it ("A worker process has failed to exit gracefully").
afterAll(() => {
  stopThreadedWasm();
  stopWebgpuDevice();
});
