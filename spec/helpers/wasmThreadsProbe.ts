/**
 * Run as a script (`node --import tsx spec/helpers/wasmThreadsProbe.ts <threads>`): starts wasm with that many
 * threads and prints one JSON line with the backend's description and the embedded UNet's SAG gradient at batch 2.
 * A separate process per thread count: a process starts the wasm backend once.
 */
import { startBackend } from '../../lib/backend';
import { digitUnetGradient } from './digitUnetGradient';

async function main(): Promise<void> {
  const threads = Number(process.argv[2]);
  const backend = await startBackend('wasm', { announce: false, wasmThreads: threads });
  const gradient = await digitUnetGradient(2);
  process.stdout.write(
    `${JSON.stringify({ backend: backend.description, threads: backend.threads, gradient: Array.from(gradient) })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
