/** The WebGPU adapter the global setup found ('' when none; see spec/setup/probeWebgpu.ts). */
export const webgpuAdapter = process.env.SAG_WEBGPU_ADAPTER ?? '';

/** describe() when a WebGPU adapter exists, otherwise a skipped describe (the global setup printed why). */
export const describeOnWebgpu: jest.Describe = webgpuAdapter ? describe : describe.skip;
