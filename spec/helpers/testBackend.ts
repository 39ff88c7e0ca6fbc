import { BackendChoice, parseBackendChoice, startBackend } from '../../lib/backend';

/**
 * Starts the backend the tests run on: wasm by default (a CPU backend ~10x faster than the pure-JS one on the
 * fixture models), or $SAG_TEST_BACKEND (e.g. cpu).
 */
export async function useTestBackend(): Promise<void> {
  const choice: BackendChoice = parseBackendChoice(process.env.SAG_TEST_BACKEND ?? 'wasm');
  await startBackend(choice, { announce: false });
}
