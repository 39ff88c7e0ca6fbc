import * as tf from '@tensorflow/tfjs';
import { GradientMethod, estimateGradient } from '../adjoint';
import { readScalar } from '../backend/readTensor';
import { ConvertedGraph } from '../models/convertedGraph';
import { EpsFunction } from '../ode/epsFunction';
import { EULER, makeEstimateProblem } from '../ode';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../schedule';
import { KernelProfile, profileKernels } from './kernelProfile';
import { measurePeakBytes, syncOnTensor } from './peakMemory';
import { formatTextTable } from './textTable';
import { medianTensorTime } from './timing';
import { TimedRow } from './variantsBench';
import {
  GraphExecutor,
  countDispatches,
  graphExecutor,
  recordedExecutorStats,
  setGraphExecutor,
} from '../recorded';

export interface UnetBenchOptions {
  /** The converted UNet graph (inputs sample, timestep, encoder_hidden_states). */
  unet: ConvertedGraph;
  /** Latent height = width. */
  latentSize: number;
  latentChannels: number;
  /** Text states [77, textDim]. */
  textDim: number;
  ns: number[];
  methods: GradientMethod[];
  /** Timed runs per row after two warm-ups (median reported). */
  repeats: number;
  /** Where the n-step estimate starts (the PyTorch anchor uses 700). */
  timestep: number;
  /** How the graphs run on webgpu: every row once per executor, in turns (default: the current one). */
  executors?: GraphExecutor[];
  onRow?: (row: UnetBenchRow) => void;
}

export interface UnetBenchRow {
  operation: string;
  batch: number;
  n: number | null;
  /** The gradient method, with ', VJP graph' when the UNet's VJP graph computed the network VJPs. */
  method: string | null;
  ms: number;
  /** How converted graphs ran ('recorded' or 'tfjs'; only webgpu records). */
  executor: GraphExecutor;
  /** Compute dispatches of one run (webgpu only; null elsewhere). */
  launches: number | null;
  /** CPU time of one run until it returned, all of its work issued (the GPU may still be busy), ms. */
  issueMs: number;
  /** GPU memory held by the recordings of the recorded executor after the row, bytes. */
  recordedBytes: number;
  /** Peak bytes of live tensors during one run above what was live before (tf.profile). */
  peakTensorBytes: number;
  /** The backend's device memory after the run (webgpu: its buffer pool, which only grows; null elsewhere). */
  gpuAllocatedBytes: number | null;
  /** ||grad - grad_direct|| / ||grad_direct|| for the estimate gradients (null for the other rows). */
  relErrVsDirect: number | null;
}

/** A row as one of `sag bench native`'s or `sag bench fused`'s timed rows ('VJP graph n=1 b=2', its ms and peak). */
export function unetTimedRow(r: UnetBenchRow): TimedRow {
  const operation = [r.operation, r.method, r.n === null ? null : `n=${r.n}`, `b=${r.batch}`]
    .filter((x) => x)
    .join(' ');
  return { operation, ms: r.ms, peakMiB: r.peakTensorBytes / 2 ** 20 };
}

function gpuAllocatedBytes(): number | null {
  const memory = tf.memory() as { numBytesAllocatedInGPU?: number };
  return memory.numBytesAllocatedInGPU ?? null;
}

/** eps(x, t, text states) of a converted UNet graph; the caller disposes the result. */
function unetEps(unet: ConvertedGraph) {
  return (x: tf.Tensor, t: number, context: tf.Tensor): tf.Tensor =>
    tf.tidy(
      () =>
        unet.execute({ sample: x, timestep: tf.tensor1d([t]), encoder_hidden_states: context }, ['out'])[0],
    );
}

/**
 * Times a tensor-returning operation: peak tensor memory of one run, which also compiles the shaders, one more warm-up and
 * `repeats` timed runs synchronised on one element of the result (a full read-back would dominate on a GPU).
 */
interface Measured {
  ms: number;
  peakBytes: number;
  issueMs: number;
  launches: number | null;
}

async function measure(run: () => tf.Tensor, repeats: number): Promise<Measured> {
  const measured = await measurePeakBytes(async () => {
    const result = run();
    await syncOnTensor(result);
    return result;
  });
  measured.result.dispose();
  const ms = await medianTensorTime(run, repeats, 1);
  const stopCounting = countDispatches();
  const start = performance.now();
  const result = run();
  const issueMs = performance.now() - start;
  const launches = stopCounting();
  await syncOnTensor(result);
  result.dispose();
  return {
    ms,
    peakBytes: measured.peakBytes,
    issueMs,
    launches: tf.getBackend() === 'webgpu' ? launches : null,
  };
}

/**
 * The rows of `runUnetBenchOnce` for each executor in turn (webgpu: recorded replays against tfjs issuing every
 * op); the executor chosen before is restored.
 */
export async function runUnetBench(options: UnetBenchOptions): Promise<UnetBenchRow[]> {
  const before = graphExecutor();
  const rows: UnetBenchRow[] = [];
  try {
    for (const executor of options.executors ?? [before]) {
      setGraphExecutor(executor);
      rows.push(...(await runUnetBenchOnce({ ...options, executors: [executor] })));
    }
  } finally {
    setGraphExecutor(before);
  }
  return rows;
}

/**
 * The costs that decide SAG's speed on a Stable Diffusion-sized UNet: forward at batch 1 and 2 (CFG), the input
 * VJP, and one guidance gradient through the n-step Euler estimate (loss 0.5 ||x0||^2, as the PyTorch anchor
 * torch_anchor.py computes it) per gradient method and n.
 */
async function runUnetBenchOnce(options: UnetBenchOptions): Promise<UnetBenchRow[]> {
  const { unet, latentSize, latentChannels, textDim } = options;
  const executor = graphExecutor();
  const runFields = (m: Measured) => ({
    executor,
    launches: m.launches,
    issueMs: m.issueMs,
    recordedBytes: recordedExecutorStats.heldBytes,
  });
  const rows: UnetBenchRow[] = [];
  const push = (row: UnetBenchRow) => {
    rows.push(row);
    options.onRow?.(row);
  };
  const x1 = tf.randomNormal([1, latentSize, latentSize, latentChannels], 0, 1, 'float32', 1);
  const context1 = tf.randomNormal([1, 77, textDim], 0, 1, 'float32', 2);
  const x2 = tf.concat([x1, x1]);
  const context2 = tf.concat([context1, context1]);
  const eps = unetEps(unet);
  const simple = (operation: string, batch: number, m: Measured) =>
    push({
      operation,
      batch,
      n: null,
      method: null,
      ms: m.ms,
      ...runFields(m),
      peakTensorBytes: m.peakBytes,
      gpuAllocatedBytes: gpuAllocatedBytes(),
      relErrVsDirect: null,
    });
  try {
    for (const [batch, x, context] of [
      [1, x1, context1],
      [2, x2, context2],
    ] as const) {
      const m = await measure(() => eps(x, 500, context), options.repeats);
      simple('forward', batch, m);
    }
    const ones = tf.onesLike(x1);
    const vjp = await measure(
      () => tf.grad((x: tf.Tensor) => eps(x, 500, context1))(x1, ones),
      options.repeats,
    );
    simple('input VJP', 1, vjp);
    if (unet.vjpGraph) {
      const graphVjp = await measure(
        () => unet.vjp({ sample: x1, timestep: tf.tensor1d([500]), encoder_hidden_states: context1 }, ones),
        options.repeats,
      );
      simple('input VJP, VJP graph', 1, graphVjp);
    }
    ones.dispose();

    const schedule = new NoiseSchedule(SD_V1_SCHEDULER);
    const loss = (x0: tf.Tensor) => tf.tidy(() => tf.mul(tf.sum(tf.square(x0)), 0.5) as tf.Scalar);
    const methods: GradientMethod[] = ['direct', ...options.methods.filter((m) => m !== 'direct')];
    // The symplectic adjoint through the UNet's VJP graph, where the model has one, as one more row per n.
    const graphEps: EpsFunction = Object.assign((x: tf.Tensor, t: number) => eps(x, t, context1), {
      vjp: (x: tf.Tensor, t: number, dy: tf.Tensor) =>
        unet.vjp({ sample: x, timestep: tf.tensor1d([t]), encoder_hidden_states: context1 }, dy),
    });
    const variants: { method: GradientMethod; label: string; eps: EpsFunction }[] = [
      ...methods.map((method) => ({
        method,
        label: method,
        eps: (x: tf.Tensor, t: number) => eps(x, t, context1),
      })),
      ...(unet.vjpGraph && methods.includes('symplectic')
        ? [{ method: 'symplectic' as GradientMethod, label: 'symplectic, VJP graph', eps: graphEps }]
        : []),
    ];
    for (const n of options.ns) {
      let reference: tf.Tensor | null = null;
      for (const { method, label, eps: variantEps } of variants) {
        const problem = makeEstimateProblem(variantEps, schedule, options.timestep, { n, tableau: EULER });
        const run = () => {
          const g = estimateGradient(method, problem, x1, loss);
          tf.dispose([g.x0hat, g.loss]);
          return g.grad;
        };
        let m: Measured;
        try {
          m = await measure(run, options.repeats);
        } catch (error) {
          if (!/out of memory|OOM|allocat/i.test(String(error))) throw error;
          if (options.methods.includes(method))
            push({
              operation: 'SAG gradient (out of memory)',
              batch: 1,
              n,
              method: label,
              ms: NaN,
              executor,
              launches: null,
              issueMs: NaN,
              recordedBytes: recordedExecutorStats.heldBytes,
              peakTensorBytes: NaN,
              gpuAllocatedBytes: gpuAllocatedBytes(),
              relErrVsDirect: null,
            });
          continue;
        }
        const grad = run();
        let relErr: number | null = 0;
        if (method === 'direct') reference = grad;
        else {
          // Direct backprop runs first; without it (out of memory) there is nothing to compare with.
          const direct = reference;
          if (direct) {
            const ratio = tf.tidy(() => tf.div(tf.norm(tf.sub(grad, direct)), tf.norm(direct)));
            relErr = await readScalar(ratio);
            ratio.dispose();
          } else relErr = null;
          grad.dispose();
        }
        if (options.methods.includes(method))
          push({
            operation: 'SAG gradient',
            batch: 1,
            n,
            method: label,
            ms: m.ms,
            ...runFields(m),
            peakTensorBytes: m.peakBytes,
            gpuAllocatedBytes: gpuAllocatedBytes(),
            relErrVsDirect: relErr,
          });
      }
      (reference as tf.Tensor | null)?.dispose();
    }
  } finally {
    tf.dispose([x1, x2, context1, context2]);
  }
  return rows;
}

export function formatUnetBenchTable(rows: UnetBenchRow[]): string {
  const mib = (b: number | null) => (b === null || Number.isNaN(b) ? '-' : (b / 2 ** 20).toFixed(0));
  return formatTextTable(
    [
      'operation',
      'method',
      'n',
      'batch',
      'executor',
      'launches',
      'issue ms',
      'ms',
      'peak tensor MiB',
      'recorded MiB',
      'GPU allocated MiB',
      'rel. err vs direct',
    ],
    rows.map((r) => [
      r.operation,
      r.method ?? '-',
      r.n === null ? '-' : String(r.n),
      String(r.batch),
      r.executor,
      r.launches === null ? '-' : String(r.launches),
      Number.isNaN(r.issueMs) ? '-' : r.issueMs.toFixed(1),
      Number.isNaN(r.ms) ? '-' : r.ms.toFixed(1),
      mib(r.peakTensorBytes),
      mib(r.recordedBytes),
      mib(r.gpuAllocatedBytes),
      r.relErrVsDirect === null ? '-' : r.relErrVsDirect.toExponential(1),
    ]),
    3,
  );
}

export interface UnetProfiles {
  forward: KernelProfile | null;
  /** The input VJP through tf.grad. */
  vjp: KernelProfile | null;
  /** The input VJP through the converter's VJP graph (null when the model has none). */
  vjpGraph: KernelProfile | null;
}

/**
 * Per-kernel profile of one batch-1 forward and one input VJP by each way the model has (after two warm-ups each): how many kernels tfjs
 * launches and, where the backend can time them (webgpu with timestamp queries), the time each kind takes.
 */
export async function profileUnet(
  options: Pick<UnetBenchOptions, 'unet' | 'latentSize' | 'latentChannels' | 'textDim'>,
): Promise<UnetProfiles> {
  const eps = unetEps(options.unet);
  const x = tf.randomNormal(
    [1, options.latentSize, options.latentSize, options.latentChannels],
    0,
    1,
    'float32',
    1,
  );
  const context = tf.randomNormal([1, 77, options.textDim], 0, 1, 'float32', 2);
  const ones = tf.onesLike(x);
  try {
    const unet = options.unet;
    const runs: Record<keyof UnetProfiles, (() => tf.Tensor) | null> = {
      forward: () => eps(x, 500, context),
      vjp: () => tf.grad((v: tf.Tensor) => eps(v, 500, context))(x, ones),
      vjpGraph: unet.vjpGraph
        ? () => unet.vjp({ sample: x, timestep: tf.tensor1d([500]), encoder_hidden_states: context }, ones)
        : null,
    };
    const profiles: UnetProfiles = { forward: null, vjp: null, vjpGraph: null };
    for (const name of ['forward', 'vjp', 'vjpGraph'] as const) {
      const run = runs[name];
      if (!run) continue;
      for (let w = 0; w < 2; w++) {
        const warm = run();
        await syncOnTensor(warm);
        warm.dispose();
      }
      profiles[name] = await profileKernels(run);
    }
    return profiles;
  } finally {
    tf.dispose([x, context, ones]);
  }
}
