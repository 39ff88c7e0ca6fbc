import { startBackend } from '../../lib/backend';

/** Starts the pure-JS cpu backend quietly (tests run on CPU with tiny models). */
export async function useCpuBackend(): Promise<void> {
  await startBackend('cpu', { announce: false });
}
