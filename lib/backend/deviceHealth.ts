import { RunFailedError } from '../runFailure';

/**
 * Errors the GPU device reported asynchronously (WebGPU validation errors, out-of-memory, device loss). WebGPU
 * does not throw where a bad shader or an invalid command is submitted: it reports later, and every command after
 * it is dropped, so results read back are silently wrong. sag records the first report and every asynchronous
 * read of a result checks it (`assertDeviceHealthy`), so a run fails at its next read instead.
 */
let firstError: string | null = null;
let count = 0;

export function recordDeviceError(kind: string, message: string): void {
  count++;
  if (firstError === null) firstError = `${kind}: ${message.trim()}`;
}

/** Throws if the device reported an error since the backend started (or since `clearDeviceErrors`). */
export function assertDeviceHealthy(): void {
  if (firstError === null) return;
  const more = count > 1 ? ` (and ${count - 1} later error${count > 2 ? 's' : ''})` : '';
  throw new RunFailedError(
    `the GPU device reported an error; results since then are invalid: ${firstError}${more}`,
  );
}

/** For tests that provoke an error on purpose. */
export function clearDeviceErrors(): void {
  firstError = null;
  count = 0;
}
