import * as tf from '@tensorflow/tfjs';
import { assertDeviceHealthy } from './deviceHealth';

/**
 * The only way sag reads tensor values back to JavaScript: asynchronously (synchronous reads throw on webgpu in
 * Node, which has no OffscreenCanvas), then a check that the device reported no error, since on webgpu a failed
 * kernel yields zeros instead of an exception. The tensor is not disposed.
 */
export async function readValues(t: tf.Tensor): Promise<Float32Array | Int32Array | Uint8Array> {
  const values = (await t.data()) as Float32Array | Int32Array | Uint8Array;
  assertDeviceHealthy();
  return values;
}

/** The values of a tensor as a plain number array (asynchronous; see readValues). */
export async function readNumbers(t: tf.Tensor): Promise<number[]> {
  return Array.from(await readValues(t));
}

/** The single value of a scalar (or the first element). */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await readValues(t))[0];
}
