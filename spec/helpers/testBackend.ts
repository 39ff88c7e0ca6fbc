import { BackendChoice, parseBackendChoice, startBackend } from '../../lib/backend';

/**
 * The backend the tests run on: wasm by default (a CPU backend ~10x faster than the pure-JS one on the fixture
 * models), or $SAG_TEST_BACKEND (e.g. cpu). Tests of one backend's own kernels name it instead.
 */
export function testBackendName(): BackendChoice {
  return parseBackendChoice(process.env.SAG_TEST_BACKEND ?? 'wasm');
}

/** Starts the test backend (see testBackendName). */
export async function useTestBackend(): Promise<void> {
  await startBackend(testBackendName(), { announce: false });
}
