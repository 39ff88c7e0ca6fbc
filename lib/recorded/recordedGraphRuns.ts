import * as tf from '@tensorflow/tfjs';
import { graphExecutor, recordedExecutorStats } from './executorChoice';
import { bufferDtypeOf, recordDispatches } from './recordDispatches';
import { DispatchRecording, inputSignature } from './recording';
import { replayRecording } from './replayRecording';
import { webgpuInternalsOf } from './webgpuInternals';

/** Input shapes remembered per graph; the least recently used recording is released beyond this. */
const MAX_RECORDINGS_PER_GRAPH = 8;

/**
 * Whether tfjs is watching each op right now: recording them for a gradient (a replay would hide them from the
 * tape) or profiling them (tf.profile, which then times each kernel).
 */
function tfjsIsWatching(): boolean {
  const state = tf.engine().state as unknown as {
    gradientDepth: number;
    kernelDepth: number;
    profiling: boolean;
  };
  return (state.gradientDepth > 0 && state.kernelDepth === 0) || state.profiling;
}

/**
 * The recorded executor for one graph: runs it through `run` the first time for each input signature while
 * recording its dispatches, and replays the recording afterwards. Falls back to `run` where recording is not
 * possible (another backend, the 'tfjs' executor chosen, a gradient being taped, a profile being taken, a graph
 * that cannot be replayed).
 */
export class RecordedGraphRuns {
  private readonly recordings = new Map<string, DispatchRecording | { refused: string }>();

  execute(
    inputs: Record<string, tf.Tensor>,
    outputs: string[],
    run: (feeds: Record<string, tf.Tensor>) => tf.Tensor[],
  ): tf.Tensor[] {
    const gpu = graphExecutor() === 'recorded' && !tfjsIsWatching() ? webgpuInternalsOf() : null;
    if (!gpu) return run(inputs);
    const signature = inputSignature(inputs, outputs, (tensor) => bufferDtypeOf(gpu, tensor));
    const known = this.recordings.get(signature);
    if (known && 'refused' in known) return run(inputs);
    if (known) {
      this.recordings.delete(signature); // re-inserted: the map's order is the order of use
      this.recordings.set(signature, known);
      const start = performance.now();
      const result = replayRecording(gpu, known, inputs);
      recordedExecutorStats.issueMs += performance.now() - start;
      recordedExecutorStats.replays++;
      recordedExecutorStats.dispatches += known.dispatches.length;
      return result;
    }
    const { outputs: result, recording, refusal } = recordDispatches(gpu, inputs, run);
    if (recording) {
      this.recordings.set(signature, recording);
      recordedExecutorStats.recordings++;
      recordedExecutorStats.heldBytes += recording.ownedBytes;
      if (this.recordings.size > MAX_RECORDINGS_PER_GRAPH)
        this.release(this.recordings.keys().next().value as string);
    } else {
      this.recordings.set(signature, { refused: refusal ?? 'unknown' });
      recordedExecutorStats.refusals++;
      recordedExecutorStats.refusalReason ??= refusal;
    }
    return result;
  }

  /** GPU memory held by this graph's recordings, bytes. */
  get heldBytes(): number {
    let sum = 0;
    for (const r of this.recordings.values()) if (!('refused' in r)) sum += r.ownedBytes;
    return sum;
  }

  private release(signature: string): void {
    const recording = this.recordings.get(signature);
    this.recordings.delete(signature);
    if (!recording || 'refused' in recording) return;
    const gpu = webgpuInternalsOf();
    // Destroyed, not pooled: tfjs's pool never frees what it holds.
    if (gpu) for (const buffer of recording.owned) gpu.bufferManager.releaseBuffer(buffer, false);
    recordedExecutorStats.heldBytes -= recording.ownedBytes;
  }

  /** Releases every recording's buffers. */
  dispose(): void {
    for (const signature of [...this.recordings.keys()]) this.release(signature);
  }
}
