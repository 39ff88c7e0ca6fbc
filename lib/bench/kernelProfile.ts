import * as tf from '@tensorflow/tfjs';
import { formatTextTable } from './textTable';

export interface KernelTotal {
  kernel: string;
  launches: number;
  /** Summed kernel time (webgpu: timestamp queries; null where the backend cannot time kernels). */
  ms: number | null;
}

export interface KernelProfile {
  wallMs: number;
  launches: number;
  kernelMs: number | null;
  peakBytes: number;
  byKernel: KernelTotal[];
}

/**
 * Runs `run` once under tf.profile (after the caller's warm-ups) and sums launches and kernel time per kernel name.
 * The wall time includes the profiler's own overhead, so it is only comparable with kernelMs of the same run.
 */
export async function profileKernels(run: () => tf.Tensor): Promise<KernelProfile> {
  let result: tf.Tensor | null = null;
  const start = performance.now();
  const info = await tf.profile(async () => {
    result = run();
    await (result as tf.Tensor).data();
    return [];
  });
  const wallMs = performance.now() - start;
  (result as tf.Tensor | null)?.dispose();
  const totals = new Map<string, KernelTotal>();
  let timed = false;
  let kernelMs = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : null;
    const total = totals.get(k.name) ?? { kernel: k.name, launches: 0, ms: null };
    total.launches++;
    if (ms !== null) {
      timed = true;
      total.ms = (total.ms ?? 0) + ms;
      kernelMs += ms;
    }
    totals.set(k.name, total);
  }
  const byKernel = [...totals.values()].sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0) || b.launches - a.launches);
  return {
    wallMs,
    launches: info.kernels.length,
    kernelMs: timed ? kernelMs : null,
    peakBytes: Number(info.peakBytes),
    byKernel,
  };
}

export function formatKernelProfile(title: string, profile: KernelProfile, top = 15): string {
  const ms = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  const head = `${title}: ${profile.launches} kernel launches, kernel time ${ms(profile.kernelMs)} ms, wall ${profile.wallMs.toFixed(1)} ms (profiled), peak tensors ${(profile.peakBytes / 2 ** 20).toFixed(0)} MiB`;
  const table = formatTextTable(
    ['kernel', 'launches', 'ms'],
    profile.byKernel.slice(0, top).map((k) => [k.kernel, String(k.launches), ms(k.ms)]),
    1,
  );
  return `${head}\n${table}`;
}
