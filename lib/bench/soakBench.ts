import * as fs from 'fs';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as tf from '@tensorflow/tfjs';
import { GuidanceMethod } from '../guidance/guidanceSettings';
import { Pipeline } from '../pipeline/pipeline';
import { formatTextTable } from './textTable';

/** One generation of the soak: what it ran and what the process held after it. */
export interface SoakSample {
  index: number;
  method: GuidanceMethod;
  num: number;
  ms: number;
  /** tfjs tensors alive after the generation's images were disposed. */
  tensors: number;
  rssMiB: number;
  /** Open file descriptors (Linux /proc/self/fd; null elsewhere). */
  fds: number | null;
  /** The backend's device memory (webgpu: tfjs's buffer pool and the recorded executor's buffers). */
  gpuMiB: number | null;
}

export interface SoakVerdict {
  tensorsStable: boolean;
  fdsStable: boolean;
  /** RSS of the last tenth against the tenth after warm-up (the first fifth), as a ratio. */
  rssGrowth: number;
  gpuStable: boolean | null;
}

const METHODS: GuidanceMethod[] = ['none', 'sag', 'freedom', 'ug'];
/** Generations before every combination of method, batch size and n has run once (4 x 2 x 3, least common multiple). */
export const SOAK_CYCLE = 12;

let gc: (() => void) | null = null;

/** A full garbage collection (V8's gc, exposed at run time: the process need not start with --expose-gc). */
function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

function openFds(): number | null {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/**
 * `generations` runs through the library in one process on `pipeline` (the embedded digit model), mixing the
 * methods, batch sizes (1-2) and n (1-3), each with class guidance towards a digit: after each, the tensor count,
 * resident memory, open files and device memory.
 */
export async function runSoak(
  pipeline: Pipeline,
  generations: number,
  onSample?: (sample: SoakSample) => void,
): Promise<SoakSample[]> {
  const samples: SoakSample[] = [];
  for (let i = 0; i < generations; i++) {
    const method = METHODS[i % METHODS.length];
    const num = 1 + (i % 2);
    const start = performance.now();
    const result = await pipeline.generate(
      {
        ...(method === 'none'
          ? {}
          : { guidance: ['class' as const], target: String(i % 10), n: 1 + (i % 3) }),
        method,
        num,
        steps: 4,
        seed: i,
      },
      { onWarning: () => undefined },
    );
    await result.images.data();
    result.images.dispose();
    // Garbage first: RSS then shows what is really held, not what V8 has yet to collect.
    collectGarbage();
    const memory = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
    const sample: SoakSample = {
      index: i,
      method,
      num,
      ms: performance.now() - start,
      tensors: memory.numTensors,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
      fds: openFds(),
      gpuMiB: memory.numBytesAllocatedInGPU === undefined ? null : memory.numBytesAllocatedInGPU / 2 ** 20,
    };
    samples.push(sample);
    onSample?.(sample);
  }
  return samples;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/**
 * Whether memory and handles stayed flat after warm-up: the first cycle of combinations (each records its graphs
 * and sizes tfjs's buffers once), or the first fifth of a longer run.
 */
export function soakVerdict(samples: SoakSample[]): SoakVerdict {
  const warm = samples.slice(Math.max(SOAK_CYCLE, Math.floor(samples.length / 5)));
  const tenth = Math.max(1, Math.floor(samples.length / 10));
  const same = (pick: (s: SoakSample) => number | null) => warm.every((s) => pick(s) === pick(warm[0]));
  const gpu = warm[0]?.gpuMiB ?? null;
  return {
    tensorsStable: same((s) => s.tensors),
    fdsStable: same((s) => s.fds),
    rssGrowth:
      mean(warm.slice(-tenth).map((s) => s.rssMiB)) / mean(warm.slice(0, tenth).map((s) => s.rssMiB)),
    gpuStable: gpu === null ? null : same((s) => s.gpuMiB),
  };
}

/** Every `every`-th sample and the last, as a table (the curve). */
export function formatSoakTable(samples: SoakSample[], every: number): string {
  const shown = samples.filter((s, i) => i % every === 0 || i === samples.length - 1);
  return formatTextTable(
    ['generation', 'method', 'num', 'ms', 'tensors', 'RSS MiB', 'open files', 'GPU MiB'],
    shown.map((s) => [
      String(s.index + 1),
      s.method,
      String(s.num),
      s.ms.toFixed(0),
      String(s.tensors),
      s.rssMiB.toFixed(1),
      s.fds === null ? '-' : String(s.fds),
      s.gpuMiB === null ? '-' : s.gpuMiB.toFixed(1),
    ]),
    2,
  );
}
