import * as tf from '@tensorflow/tfjs';
import { copiesOf, uploadInputs } from './recordDispatches';
import { DispatchRecording } from './recording';
import { WebgpuInternals } from './webgpuInternals';

/** Dispatches per command buffer: the GPU starts on the first part while the rest is still being encoded. */
const DISPATCHES_PER_SUBMIT = 512;

/**
 * Runs a recording for new inputs (the same shapes): each input is copied into its slot, the recorded dispatches
 * are encoded in a tight loop with their recorded pipelines and bind groups (submitted in parts), and the outputs
 * are copied into fresh buffers. Returns the outputs as tensors the caller owns.
 */
export function replayRecording(
  gpu: WebgpuInternals,
  recording: DispatchRecording,
  inputs: Record<string, tf.Tensor>,
): tf.Tensor[] {
  // Whatever tfjs has encoded (the inputs' producers and uploads among it) reaches the queue first.
  const sources = uploadInputs(gpu, inputs);
  let encoder = gpu.device.createCommandEncoder();
  for (const [name, slot] of recording.inputs) {
    if (slot.bytes > 0) encoder.copyBufferToBuffer(sources[name], 0, slot.buffer, 0, slot.bytes);
  }
  const { dispatches } = recording;
  for (let start = 0; start < dispatches.length; start += DISPATCHES_PER_SUBMIT) {
    const pass = encoder.beginComputePass();
    const end = Math.min(dispatches.length, start + DISPATCHES_PER_SUBMIT);
    for (let i = start; i < end; i++) {
      const d = dispatches[i];
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    pass.end();
    if (end < dispatches.length) {
      gpu.device.queue.submit([encoder.finish()]);
      encoder = gpu.device.createCommandEncoder();
    }
  }
  return copiesOf(gpu, recording.outputs, encoder);
}
