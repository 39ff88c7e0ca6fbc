import { recordedExecutorStats } from './executorChoice';
import { patchMethod } from './patchMethod';
import { webgpuInternalsOf } from './webgpuInternals';

/**
 * Starts counting the compute dispatches issued on webgpu, by tfjs one at a time and by recorded replays; the
 * returned function stops counting and gives the number. Counts nothing (0) on other backends.
 */
export function countDispatches(): () => number {
  const gpu = webgpuInternalsOf();
  const replayedBefore = recordedExecutorStats.dispatches;
  if (!gpu) return () => 0;
  let issued = 0;
  const restore = patchMethod(gpu, 'recordAndSubmit', (original) => (program, output, inputs, uniforms) => {
    issued++;
    original(program, output, inputs, uniforms);
  });
  return () => {
    restore();
    return issued + recordedExecutorStats.dispatches - replayedBefore;
  };
}
