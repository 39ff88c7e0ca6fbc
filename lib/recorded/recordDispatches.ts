import * as tf from '@tensorflow/tfjs';
import { DispatchRecording, RecordedDispatch, RecordedSlot, slotBytes } from './recording';
import { patchMethod } from './patchMethod';
import { BUFFER_USAGE, GpuBufferLike, WebgpuInternals, bufferKey } from './webgpuInternals';

const SLOT_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;

/** Ends tfjs's open compute pass and submits its pending commands, so that work issued after runs after it. */
export function flushTfjsCommands(gpu: WebgpuInternals): void {
  gpu.endComputePassEncoder();
  if (gpu.commandEncoder) gpu.submitQueue();
}

/** A tensor on `buffer` that tfjs will not release when it is disposed (the buffer stays with its owner). */
export function tensorOnBuffer(
  gpu: WebgpuInternals,
  buffer: GpuBufferLike,
  slot: { shape: number[]; dtype: tf.DataType; bufferDtype: tf.DataType },
  external: boolean,
): tf.Tensor {
  const { shape, dtype } = slot;
  const info = gpu.makeTensorInfo(shape, slot.bufferDtype);
  const data = gpu.tensorMap.get(info.dataId);
  if (!data) throw new Error('recorded executor: tfjs did not register a tensor it made');
  data.resource = buffer;
  data.external = external;
  return tf.engine().makeTensorFromTensorInfo({ dataId: info.dataId, shape, dtype });
}

/** The dtype of the values in a tensor's buffer (see RecordedSlot.bufferDtype). */
export function bufferDtypeOf(gpu: WebgpuInternals, tensor: tf.Tensor): tf.DataType {
  return gpu.tensorMap.get(tensor.dataId)?.dtype ?? tensor.dtype;
}

/** The GPU buffer holding a tensor's values, uploading CPU values first. */
export function bufferOf(gpu: WebgpuInternals, tensor: tf.Tensor): GpuBufferLike {
  gpu.uploadToGPU(tensor.dataId);
  const resource = gpu.tensorMap.get(tensor.dataId)?.resource as GpuBufferLike | undefined;
  if (!resource || typeof resource.size !== 'number')
    throw new Error('recorded executor: a tensor is not in a GPU buffer');
  return resource;
}

/**
 * The GPU buffers of a call's inputs. Values still on the CPU are uploaded, and tfjs's pending commands (such an
 * upload's copy among them) are submitted, so that a copy encoded after this reads the values.
 */
export function uploadInputs(
  gpu: WebgpuInternals,
  inputs: Record<string, tf.Tensor>,
): Record<string, GpuBufferLike> {
  const buffers = Object.fromEntries(
    Object.entries(inputs).map(([name, tensor]) => [name, bufferOf(gpu, tensor)]),
  );
  flushTfjsCommands(gpu);
  return buffers;
}

/** Copies `from` into fresh pool buffers and returns them as tensors the caller owns. */
export function copiesOf(
  gpu: WebgpuInternals,
  slots: RecordedSlot[],
  encoder = gpu.device.createCommandEncoder(),
): tf.Tensor[] {
  const copies = slots.map((slot) => {
    const buffer = gpu.bufferManager.acquireBuffer(slot.bytes, SLOT_USAGE);
    encoder.copyBufferToBuffer(slot.buffer, 0, buffer, 0, slot.bytes);
    return { buffer, slot };
  });
  gpu.device.queue.submit([encoder.finish()]);
  return copies.map(({ buffer, slot }) => tensorOnBuffer(gpu, buffer, slot, false));
}

/** Moves `buffer` from tfjs's free list back to its used list: from now on only its new owner uses it. */
function takeFromFreeList(gpu: WebgpuInternals, buffer: GpuBufferLike): boolean {
  const manager = gpu.bufferManager;
  const free = manager.freeBuffers.get(bufferKey(buffer));
  const at = free ? free.indexOf(buffer) : -1;
  if (!free || at < 0) return false;
  free.splice(at, 1);
  manager.numFreeBuffers--;
  const key = bufferKey(buffer);
  if (!manager.usedBuffers.has(key)) manager.usedBuffers.set(key, []);
  manager.usedBuffers.get(key)?.push(buffer);
  manager.numUsedBuffers++;
  manager.numBytesUsed += buffer.size;
  return true;
}

/** Gives a buffer taken by `takeFromFreeList` (or never released) back to tfjs's pool. */
function returnToPool(gpu: WebgpuInternals, buffer: GpuBufferLike): void {
  gpu.bufferManager.releaseBuffer(buffer);
}

function slotsOwn(slots: Map<string, RecordedSlot>, buffer: GpuBufferLike): boolean {
  for (const slot of slots.values()) if (slot.buffer === buffer) return true;
  return false;
}

export interface RecordingResult {
  /** The run's outputs (the caller owns them), whether or not it could be recorded. */
  outputs: tf.Tensor[];
  recording: DispatchRecording | null;
  /** Why the run cannot be replayed (it read a GPU value on the CPU, say); null when recorded. */
  refusal: string | null;
}

/**
 * Runs `run` once on tfjs's webgpu backend as usual, with the inputs in buffers of their own, and records every
 * dispatch it issues. Buffers the run writes on the queue (uniforms, uploaded constants) are kept out of tfjs's pool
 * while it runs, so each keeps the contents it had when its dispatch was recorded; at the end every buffer the
 * dispatches touch and no live tensor holds is taken from the pool for the recording. A run that reads a GPU value
 * on the CPU, copies buffers outside dispatches or is being profiled cannot be replayed: its outputs are returned
 * with a refusal.
 */
export function recordDispatches(
  gpu: WebgpuInternals,
  inputs: Record<string, tf.Tensor>,
  run: (feeds: Record<string, tf.Tensor>) => tf.Tensor[],
): RecordingResult {
  const sources = uploadInputs(gpu, inputs);
  const manager = gpu.bufferManager;
  const slots = new Map<string, RecordedSlot>();
  const encoder = gpu.device.createCommandEncoder();
  for (const [name, tensor] of Object.entries(inputs)) {
    const bytes = slotBytes(tensor.shape);
    const buffer = manager.acquireBuffer(bytes, SLOT_USAGE);
    if (bytes > 0) encoder.copyBufferToBuffer(sources[name], 0, buffer, 0, bytes);
    slots.set(name, {
      buffer,
      bytes,
      shape: tensor.shape,
      dtype: tensor.dtype,
      bufferDtype: bufferDtypeOf(gpu, tensor),
    });
  }
  gpu.device.queue.submit([encoder.finish()]);
  const feeds = Object.fromEntries(
    [...slots].map(([name, slot]) => [name, tensorOnBuffer(gpu, slot.buffer, slot, true)]),
  );

  const acquired = new Set<GpuBufferLike>();
  const pinned = new Set<GpuBufferLike>();
  const held = new Set<GpuBufferLike>();
  const referenced = new Set<GpuBufferLike>();
  const dispatches: RecordedDispatch[] = [];
  let refusal: string | null = null;
  let lastBindGroup: unknown = null;

  const gpuValue = (dataId: object) => gpu.tensorMap.get(dataId)?.values == null;
  const restores = [
    patchMethod(
      manager,
      'acquireBuffer',
      (original) =>
        (size, usage, mappedAtCreation = false, reuse = true) => {
          // An upload gets a new buffer: a pooled one may be a buffer a recorded dispatch writes, which would then
          // overwrite the uploaded values (a weight) on every replay.
          const buffer = original(size, usage, mappedAtCreation, reuse && !mappedAtCreation);
          // tfjs's pool makes its free list for a size only when it reuses; its release expects one.
          if (!manager.freeBuffers.has(bufferKey(buffer))) manager.freeBuffers.set(bufferKey(buffer), []);
          acquired.add(buffer);
          if (mappedAtCreation) pinned.add(buffer);
          return buffer;
        },
    ),
    patchMethod(manager, 'releaseBuffer', (original) => (buffer, reuse = true) => {
      // Written on the queue (uniforms, uploads): reused within the run, it would change what a recorded dispatch reads.
      if (reuse && (pinned.has(buffer) || (buffer.usage & BUFFER_USAGE.UNIFORM) !== 0)) held.add(buffer);
      else original(buffer, reuse);
    }),
    patchMethod(gpu.device, 'createBindGroup', (original) => (descriptor) => {
      lastBindGroup = original(descriptor);
      for (const entry of descriptor.entries) {
        const buffer = (entry.resource as { buffer?: GpuBufferLike }).buffer;
        if (buffer) referenced.add(buffer);
      }
      return lastBindGroup;
    }),
    patchMethod(gpu, 'recordAndSubmit', (original) => (program, output, programInputs, uniforms) => {
      if (gpu.activeTimers != null) refusal ??= 'the run is being profiled';
      lastBindGroup = null;
      original(program, output, programInputs, uniforms);
      if (lastBindGroup === null) refusal ??= 'a dispatch without a bind group';
      dispatches.push({
        pipeline: program.pipeline,
        bindGroup: lastBindGroup,
        workgroups: [...program.dispatch],
      });
    }),
    patchMethod(gpu, 'readSync', (original) => (dataId) => {
      if (gpuValue(dataId)) refusal ??= 'the graph reads a value computed on the GPU back to the CPU';
      return original(dataId);
    }),
    patchMethod(gpu, 'read', (original) => (dataId) => {
      if (gpuValue(dataId)) refusal ??= 'the graph reads a value computed on the GPU back to the CPU';
      return original(dataId);
    }),
    patchMethod(gpu, 'copyBuffer', (original) => (buffer) => {
      refusal ??= 'the graph copies buffers outside its dispatches';
      return original(buffer);
    }),
    patchMethod(gpu, 'readToGPU', (original) => (dataId) => {
      refusal ??= 'the graph copies buffers outside its dispatches';
      return original(dataId);
    }),
  ];

  let outputs: tf.Tensor[] = [];
  try {
    outputs = run(feeds);
    // Uniforms of the last dispatches are released at the next submit: it must happen while they are held.
    flushTfjsCommands(gpu);
  } finally {
    for (const restore of restores.reverse()) restore();
    if (outputs.length === 0) {
      tf.dispose(Object.values(feeds));
      for (const slot of slots.values()) manager.releaseBuffer(slot.buffer);
      for (const buffer of held) manager.releaseBuffer(buffer);
    }
  }

  const outputSlots: RecordedSlot[] = outputs.map((tensor) => {
    const buffer = gpu.tensorMap.get(tensor.dataId)?.resource as GpuBufferLike | undefined;
    if (!buffer || typeof buffer.size !== 'number') {
      refusal ??= 'an output is not in a GPU buffer';
      return {
        buffer: bufferOf(gpu, tensor),
        bytes: slotBytes(tensor.shape),
        shape: tensor.shape,
        dtype: tensor.dtype,
        bufferDtype: bufferDtypeOf(gpu, tensor),
      };
    }
    const isSlot = [...slots.values()].some((s) => s.buffer === buffer);
    if (!acquired.has(buffer) && !isSlot)
      refusal ??= 'an output is a tensor that existed before the run (a weight)';
    return {
      buffer,
      bytes: slotBytes(tensor.shape),
      shape: tensor.shape,
      dtype: tensor.dtype,
      bufferDtype: bufferDtypeOf(gpu, tensor),
    };
  });
  const owned = new Set<GpuBufferLike>();
  if (refusal === null) {
    // The outputs' buffers stay with the recording: their tensors give them up without releasing them.
    for (const tensor of outputs) {
      const data = gpu.tensorMap.get(tensor.dataId);
      if (data) data.external = true;
    }
    for (const slot of slots.values()) owned.add(slot.buffer);
    for (const slot of outputSlots) owned.add(slot.buffer);
    for (const buffer of held) owned.add(buffer);
    for (const buffer of new Set([...acquired, ...referenced]))
      if (!owned.has(buffer) && takeFromFreeList(gpu, buffer)) owned.add(buffer);
    // A buffer the run made and wrote that a live tensor still holds would go back to the pool when that tensor
    // is disposed, and be written by others between replays.
    for (const buffer of referenced)
      if (acquired.has(buffer) && !pinned.has(buffer) && !owned.has(buffer))
        refusal = 'a tensor made by the run outlives it';
  }
  // Copied only now: a pooled buffer the recording holds must not become the caller's.
  const copies = copiesOf(gpu, outputSlots);
  tf.dispose(outputs);
  tf.dispose(Object.values(feeds));
  if (refusal !== null) {
    for (const buffer of owned) if (!slotsOwn(slots, buffer)) returnToPool(gpu, buffer);
    for (const slot of slots.values()) manager.releaseBuffer(slot.buffer);
    for (const buffer of held) if (!owned.has(buffer)) manager.releaseBuffer(buffer);
    return { outputs: copies, recording: null, refusal };
  }
  const ownedList = [...owned];
  return {
    outputs: copies,
    recording: {
      inputs: slots,
      outputs: outputSlots,
      dispatches,
      owned: ownedList,
      ownedBytes: ownedList.reduce((sum, b) => sum + b.size, 0),
    },
    refusal: null,
  };
}
