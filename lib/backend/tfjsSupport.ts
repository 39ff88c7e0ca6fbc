import * as tf from '@tensorflow/tfjs';
import { RunFailedError } from '../runFailure';

/** The TensorFlow.js release sag's changes to tfjs were written and tested for (package.json pins it). */
export const SUPPORTED_TFJS_VERSION = '4.22.0';

/**
 * The engine internals sag reads or writes (the gradient tape and depth counters: the clean-estimate op, the
 * recorded executor; the backend registry: startBackend). Each is checked before a backend starts.
 */
const ENGINE_STATE_FIELDS = ['gradientDepth', 'kernelDepth', 'profiling', 'scopeStack', 'numTensors'];

/** Why the installed tfjs cannot be used by this sag, or null. */
export function unsupportedTfjs(): string | null {
  const engine = tf.engine() as unknown as { state?: Record<string, unknown>; registry?: unknown };
  const missing = [
    ...(engine.registry && typeof engine.registry === 'object' ? [] : ['engine.registry']),
    ...ENGINE_STATE_FIELDS.filter((field) => !engine.state || !(field in engine.state)).map(
      (f) => `engine.state.${f}`,
    ),
  ];
  if (missing.length === 0) return null;
  return `tfjs ${tf.version_core} is not supported by this sag (it needs tfjs ${SUPPORTED_TFJS_VERSION}; missing: ${missing.join(', ')}); reinstall sag's dependencies with npm ci`;
}

/** Throws one line when the installed tfjs lacks what sag relies on. */
export function assertSupportedTfjs(): void {
  const problem = unsupportedTfjs();
  if (problem) throw new RunFailedError(problem);
}
