import * as tf from '@tensorflow/tfjs';
import { GpuBufferLike } from './webgpuInternals';

/** One compute dispatch as tfjs issued it: its pipeline, its bind group (built once) and its workgroup counts. */
export interface RecordedDispatch {
  pipeline: unknown;
  bindGroup: unknown;
  workgroups: [number, number, number];
}

/** A GPU buffer that holds one input or output of a recorded graph run. */
export interface RecordedSlot {
  buffer: GpuBufferLike;
  bytes: number;
  shape: number[];
  dtype: tf.DataType;
  /**
   * The dtype of the values in the buffer, which tfjs's shaders read by: tfjs's webgpu cast from int32 to float32
   * keeps the int32 values and changes only the tensor's dtype.
   */
  bufferDtype: tf.DataType;
}

/**
 * A graph run recorded on tfjs's webgpu backend, replayable for inputs of the same shapes: the dispatch list,
 * the buffers it reads and writes (owned by the recording from then on, so nothing else ever writes them), and the
 * slots where each call's inputs are copied in and its outputs copied out.
 */
export interface DispatchRecording {
  inputs: Map<string, RecordedSlot>;
  outputs: RecordedSlot[];
  dispatches: RecordedDispatch[];
  /** Every buffer the recording holds, released when it is disposed. */
  owned: GpuBufferLike[];
  ownedBytes: number;
}

/** Bytes of a tensor in a webgpu buffer: 4 per element for every dtype sag's graphs use. */
export function slotBytes(shape: number[]): number {
  return 4 * shape.reduce((a, b) => a * b, 1);
}

/** The shapes and dtypes of a call's inputs, in name order: a recording replays only for the same signature. */
export function inputSignature(
  inputs: Record<string, tf.Tensor>,
  outputs: string[],
  bufferDtype: (tensor: tf.Tensor) => tf.DataType,
): string {
  const parts = Object.keys(inputs)
    .sort()
    .map((name) => {
      const t = inputs[name];
      return `${name}:${t.dtype}/${bufferDtype(t)}[${t.shape.join(',')}]`;
    });
  return `${parts.join(';')}->${outputs.join(',')}`;
}
