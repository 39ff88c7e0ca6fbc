import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { GradientMethod, estimateGradient } from '../adjoint';
import { EpsFunction } from '../ode/epsFunction';
import { PixelDenoiser } from '../pipeline/pixelDenoiser';
import { ImageClassifier } from '../models/imageClassifier';
import { PixelDiffusionModel } from '../models/pixelDiffusionModel';
import { EULER, makeEstimateProblem } from '../ode';
import { activeNativeMatrixProducts, setNativeMatrixProducts } from '../backend/nativeMatrixProducts';
import { measurePeakBytes, syncOnTensor } from './peakMemory';
import { PytorchWorker } from './pytorchWorker';
import { formatTextTable } from './textTable';
import { median, timeTensorRun } from './timing';

export interface PytorchBenchOptions {
  unetDir: string;
  classifierDir: string;
  python: string;
  script: string;
  batches: number[];
  /** Estimate steps of the SAG gradient rows. */
  n: number;
  /** Interleaved timed runs per row and side (median). */
  repeats: number;
  timestep: number;
  target: number;
  /** PyTorch's threads (sag's are the backend's: `startBackend`'s wasmThreads). */
  torchThreads: number;
  onRow?: (row: PytorchBenchRow) => void;
}

export interface PytorchBenchRow {
  operation: string;
  batch: number;
  torchMs: number;
  sagMs: number;
  /** PyTorch: resident memory above the start of one run (forked child); sag: peak live tensor bytes (tf.profile). */
  torchPeakBytes: number;
  sagPeakBytes: number;
  /** With native kernels on: sag's time with wasm's own Conv2D, BatchMatMul and GroupNorm kernels, timed in turn. */
  sagWasmKernelsMs?: number;
}

export interface PytorchBenchResult {
  torch: { torch: string; threads: number };
  /** ||torch - sag|| / ||sag|| of eps and of the classifier's logits on the same inputs. */
  agreement: { eps_rel: number; logits_rel: number };
  rows: PytorchBenchRow[];
}

async function writeTensor(file: string, t: tf.Tensor): Promise<void> {
  fs.writeFileSync(file, Buffer.from(((await t.data()) as Float32Array).buffer));
}

/**
 * The embedded digit UNet + classifier in PyTorch (CPU, `torchThreads` threads) and in sag, on the same inputs, timed in
 * alternation so that both see the same machine load: forward, input VJP, and the SAG guidance gradient of the class
 * loss through the n-step Euler estimate (symplectic and direct), with peak memory. Checks first that both compute
 * the same eps and logits.
 */
export async function runPytorchBench(options: PytorchBenchOptions): Promise<PytorchBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-bench-pytorch-'));
  const model = await PixelDiffusionModel.load(options.unetDir);
  const classifier = await ImageClassifier.load(options.classifierDir);
  const worker = PytorchWorker.start(options.python, options.script, options.torchThreads);
  try {
    const torch = await worker.request<{ torch: string; threads: number }>({
      cmd: 'setup',
      threads: options.torchThreads,
      unet: path.join(options.unetDir, 'unet'),
      classifier: path.join(options.classifierDir, 'classifier'),
    });
    const size = model.imageSize;
    // The library's own eps, with and without the converter's VJP graph (sag's default uses it where it exists).
    const withGraph = new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize, true)
      .eps;
    const eps = new PixelDenoiser(model.unet, model.schedule, model.channels, model.imageSize, false).eps;
    const toImage = (x0: tf.Tensor) => tf.clipByValue(tf.div(tf.add(x0, 1), 2), 0, 1) as tf.Tensor4D;
    const loss = (x0: tf.Tensor) =>
      tf.tidy(
        () =>
          tf.neg(
            tf.sum(tf.slice(tf.logSoftmax(classifier.logits(toImage(x0))), [0, options.target], [-1, 1])),
          ) as tf.Scalar,
      );

    const agreement = await checkAgreement(worker, dir, model, classifier, eps, options.timestep);
    const problemOf = (epsFunction: EpsFunction) =>
      makeEstimateProblem(epsFunction, model.schedule, options.timestep, { n: options.n, tableau: EULER });
    const problem = problemOf(eps);
    const graphProblem = problemOf(withGraph);
    const grid = problem.grid.map((p) => ({ timestep: p.timestep, abar: p.abar, sigbar: p.sigbar }));
    const rows: PytorchBenchRow[] = [];
    const native = activeNativeMatrixProducts();
    for (const batch of options.batches) {
      const x = tf.randomNormal([batch, size, size, model.channels], 0, 1, 'float32', 5);
      const xFile = path.join(dir, `x${batch}.f32`);
      await writeTensor(xFile, x);
      const ones = tf.onesLike(x);
      const sagGradient =
        (method: GradientMethod, through = problem) =>
        () => {
          const g = estimateGradient(method, through, x, loss);
          tf.dispose([g.x0hat, g.loss]);
          return g.grad;
        };
      const operations: [string, Record<string, unknown>, () => tf.Tensor][] = [
        ['forward', { op: 'forward' }, () => eps(x, 500)],
        ['input VJP, tf.grad', { op: 'vjp' }, () => tf.grad((v: tf.Tensor) => eps(v, 500))(x, ones)],
        ...(withGraph.vjp
          ? [
              [
                'input VJP, VJP graph',
                { op: 'vjp' },
                () => (withGraph.vjp as NonNullable<EpsFunction['vjp']>)(x, 500, ones),
              ] as [string, Record<string, unknown>, () => tf.Tensor],
            ]
          : []),
        [
          `SAG gradient n = ${options.n}, symplectic, tf.grad`,
          { op: 'sag', method: 'symplectic' },
          sagGradient('symplectic'),
        ],
        ...(withGraph.vjp
          ? [
              [
                `SAG gradient n = ${options.n}, symplectic, VJP graph`,
                { op: 'sag', method: 'symplectic' },
                sagGradient('symplectic', graphProblem),
              ] as [string, Record<string, unknown>, () => tf.Tensor],
            ]
          : []),
        [`SAG gradient n = ${options.n}, direct`, { op: 'sag', method: 'direct' }, sagGradient('direct')],
      ];
      try {
        for (const [operation, request, sagRun] of operations) {
          const message = { ...request, x: xFile, shape: x.shape, grid, target: options.target, batch };
          const torchTimes: number[] = [];
          const sagTimes: number[] = [];
          const wasmKernelTimes: number[] = [];
          const withWasmKernels = async () => {
            setNativeMatrixProducts(null);
            try {
              return await timeTensorRun(sagRun);
            } finally {
              setNativeMatrixProducts(native);
            }
          };
          await worker.request({ cmd: 'time', ...message });
          await timeTensorRun(sagRun);
          if (native) await withWasmKernels();
          for (let r = 0; r < options.repeats; r++) {
            torchTimes.push((await worker.request<{ ms: number }>({ cmd: 'time', ...message })).ms);
            sagTimes.push(await timeTensorRun(sagRun));
            if (native) wasmKernelTimes.push(await withWasmKernels());
          }
          const torchPeak = await worker.request<{ peak_bytes: number }>({ cmd: 'peak', ...message });
          const sagPeak = await measurePeakBytes(async () => {
            const result = sagRun();
            await syncOnTensor(result);
            result.dispose();
          });
          const row = {
            operation,
            batch,
            torchMs: median(torchTimes),
            sagMs: median(sagTimes),
            torchPeakBytes: torchPeak.peak_bytes,
            sagPeakBytes: sagPeak.peakBytes,
            ...(native ? { sagWasmKernelsMs: median(wasmKernelTimes) } : {}),
          };
          rows.push(row);
          options.onRow?.(row);
        }
      } finally {
        tf.dispose([x, ones]);
      }
    }
    return { torch, agreement, rows };
  } finally {
    worker.close();
    model.dispose();
    classifier.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function checkAgreement(
  worker: PytorchWorker,
  dir: string,
  model: PixelDiffusionModel,
  classifier: ImageClassifier,
  eps: (x: tf.Tensor, t: number) => tf.Tensor,
  timestep: number,
): Promise<{ eps_rel: number; logits_rel: number }> {
  const shape = [2, model.imageSize, model.imageSize, model.channels];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 9);
  const out = eps(x, timestep);
  const image = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.25), 0.5), 0, 1) as tf.Tensor4D);
  const logits = classifier.logits(image);
  const files = {
    x: 'check-x.f32',
    eps: 'check-eps.f32',
    image: 'check-image.f32',
    logits: 'check-logits.f32',
  };
  const tensors = { x, eps: out, image, logits };
  for (const [key, name] of Object.entries(files))
    await writeTensor(path.join(dir, name), tensors[key as keyof typeof tensors]);
  tf.dispose([x, out, image, logits]);
  const reply = await worker.request<{ eps_rel: number; logits_rel: number }>({
    cmd: 'check',
    x: path.join(dir, files.x),
    eps: path.join(dir, files.eps),
    image: path.join(dir, files.image),
    logits: path.join(dir, files.logits),
    shape,
    image_shape: shape,
    t: timestep,
  });
  if (!(reply.eps_rel < 1e-4 && reply.logits_rel < 1e-4))
    throw new Error(
      `PyTorch and sag disagree on the embedded models (eps rel. error ${reply.eps_rel}, logits ${reply.logits_rel}): the timings would not compare the same computation`,
    );
  return reply;
}

export function formatPytorchBenchTable(rows: PytorchBenchRow[]): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const native = rows.some((r) => r.sagWasmKernelsMs !== undefined);
  const ratio = (ms: number | undefined, torchMs: number) =>
    ms === undefined ? '-' : `${(ms / torchMs).toFixed(2)}x`;
  return formatTextTable(
    [
      'operation',
      'batch',
      'PyTorch ms',
      'sag ms',
      'sag / PyTorch',
      ...(native ? ['sag, wasm kernels ms', 'wasm kernels / PyTorch'] : []),
      'PyTorch peak MiB',
      'sag peak MiB',
    ],
    rows.map((r) => [
      r.operation,
      String(r.batch),
      r.torchMs.toFixed(1),
      r.sagMs.toFixed(1),
      ratio(r.sagMs, r.torchMs),
      ...(native ? [r.sagWasmKernelsMs?.toFixed(1) ?? '-', ratio(r.sagWasmKernelsMs, r.torchMs)] : []),
      mib(r.torchPeakBytes),
      mib(r.sagPeakBytes),
    ]),
    1,
  );
}
