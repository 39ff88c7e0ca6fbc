// The suites run on single-threaded wasm (a setting given wins). A jest worker starts the backend afresh for every
// test file, and the threaded build's start (8 pthread workers) then occasionally never finishes: one file in about
// a hundred, in two of three full runs on 2 cores (sag gives up after 60 s, naming SAG_WASM_THREADS=1). A CLI
// process starts it once. The threaded build has its own tests, each in a process of its own
// (spec/backend/wasmThreads.spec.ts, and the --workers tests of eval guidance and stylize-video).
process.env.SAG_WASM_THREADS ??= '1';

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
  setupFilesAfterEnv: ['<rootDir>/spec/setup/stopBackends.ts'],
};
