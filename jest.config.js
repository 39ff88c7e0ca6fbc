const os = require('os');

// Jest runs max(1, cores - 1) workers; each would start wasm with one XNNPACK thread per core, and spinning thread
// pools that outnumber the cores slow everything down. Give each worker its share (a setting given wins).
const cores = os.availableParallelism();
process.env.SAG_WASM_THREADS ??= String(Math.max(1, Math.floor(cores / Math.max(1, cores - 1))));

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 120000,
  // A worker process whose memory has grown past this after a test file is replaced by a fresh one: each file
  // loads tfjs and its wasm heaps anew, and one process running all of them in turn grows by gigabytes. Setting it
  // also makes jest use a worker process where it would otherwise run every file in its own main process (1 worker).
  workerIdleMemoryLimit: '2GB',
  globalSetup: '<rootDir>/spec/setup/probeWebgpu.ts',
  setupFilesAfterEnv: ['<rootDir>/spec/setup/stopWasmThreads.ts'],
};
