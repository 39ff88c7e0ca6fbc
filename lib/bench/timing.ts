import * as tf from '@tensorflow/tfjs';
import { syncOnTensor } from './peakMemory';

/** The median (upper median for an even count; 0 for none). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

/** Milliseconds of one run of a tensor-returning operation, synchronised on one element of its result. */
export async function timeTensorRun(run: () => tf.Tensor): Promise<number> {
  const start = performance.now();
  const result = run();
  await syncOnTensor(result);
  const ms = performance.now() - start;
  result.dispose();
  return ms;
}

/** Median time of `repeats` runs after `warmups` untimed ones (which also compile the shaders on a GPU). */
export async function medianTensorTime(
  run: () => tf.Tensor,
  repeats: number,
  warmups: number,
): Promise<number> {
  for (let w = 0; w < warmups; w++) await timeTensorRun(run);
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push(await timeTensorRun(run));
  return median(times);
}
