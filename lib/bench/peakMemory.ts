import * as tf from '@tensorflow/tfjs';

export interface MeasuredRun<T> {
  result: T;
  /** Peak bytes of live tensors during fn, minus the bytes live before it started. */
  peakBytes: number;
}

/**
 * Runs fn under tf.profile and reports its peak tensor memory above what was live before. tf.profile reuses its
 * result object, so the fields are copied at once.
 */
export async function measurePeakBytes<T>(fn: () => T | Promise<T>): Promise<MeasuredRun<T>> {
  const before = tf.memory().numBytes;
  let result: T | undefined;
  const info = await tf.profile(async () => {
    result = await fn();
    return [];
  });
  const peak = Number(info.peakBytes);
  return { result: result as T, peakBytes: Math.max(0, peak - before) };
}

/** Waits for a tensor's computation by reading back one element (cheap on GPUs, unlike a full read-back). */
export async function syncOnTensor(t: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => tf.slice(t.reshape([-1]), [0], [1]));
  await one.data();
  one.dispose();
}
