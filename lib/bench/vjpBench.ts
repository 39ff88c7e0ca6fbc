import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../adjoint';
import { Denoiser } from '../guidance/denoiser';
import { ConvertedGraph } from '../models/convertedGraph';
import { PixelDiffusionModel } from '../models/pixelDiffusionModel';
import { sagManifestFormat } from '../models/sagManifestFile';
import { ControlNetModel } from '../models/controlNetModel';
import { StableDiffusionModels } from '../models/stableDiffusionModels';
import { makeEstimateProblem } from '../ode';
import { LatentDenoiser } from '../pipeline/latentDenoiser';
import { PixelDenoiser } from '../pipeline/pixelDenoiser';
import { rowRelativeErrors } from '../eval/sampleStatistics';
import { formatTextTable } from './textTable';
import { median, timeTensorRun } from './timing';

export interface VjpBenchRow {
  operation: string;
  ms: number;
  /** Peak tensor bytes above what was live before (tf.profile). */
  peakBytes: number;
  kernels: number;
  /** Relative L2 difference from the tf.grad row of the same quantity (null for the reference rows). */
  relDiff: number | null;
}

export interface VjpBenchModel {
  unet: ConvertedGraph;
  /** The denoiser with and without the VJP graph. */
  denoisers: { graph: Denoiser; tape: Denoiser };
  inputs: Record<string, tf.Tensor>;
  sample: tf.Tensor;
  /** Said after the SAG rows' names (' with ControlNet' when the denoisers run one). */
  sagLabel?: string;
  dispose(): void;
}

/**
 * The UNet of a pixel (embedded) or Stable Diffusion directory with inputs for a batch; with `controlnet` (Stable
 * Diffusion only), the SAG rows' denoisers add its residuals for a random condition image.
 */
export async function loadVjpBenchModel(
  dir: string,
  batch: number,
  latent: number,
  controlnet?: string,
): Promise<VjpBenchModel> {
  if (sagManifestFormat(dir) === 'sag-pixel-diffusion') {
    if (controlnet)
      throw new Error(`--controlnet ${controlnet}: only Stable Diffusion models take a ControlNet`);
    const pixel = await PixelDiffusionModel.load(dir);
    const make = (graph: boolean) =>
      new PixelDenoiser(pixel.unet, pixel.schedule, pixel.channels, pixel.imageSize, graph);
    const sample = tf.randomNormal(
      [batch, pixel.imageSize, pixel.imageSize, pixel.channels],
      0,
      1,
      'float32',
      1,
    );
    return {
      unet: pixel.unet,
      denoisers: { graph: make(true), tape: make(false) },
      inputs: { sample, timestep: tf.tensor1d([700]) },
      sample,
      dispose: () => pixel.dispose(),
    };
  }
  const sd = await StableDiffusionModels.load(dir);
  const context = tf.randomNormal([batch, 77, sd.manifest.crossAttentionDim], 0, 1, 'float32', 2);
  const sample = tf.randomNormal([batch, latent, latent, sd.latentChannels], 0, 1, 'float32', 1);
  const net = controlnet ? await ControlNetModel.load(controlnet) : null;
  const side = latent * sd.vaeDownscale;
  const condition = net ? (tf.randomUniform([1, side, side, 3], 0, 1, 'float32', 4) as tf.Tensor4D) : null;
  const make = (graph: boolean) =>
    new LatentDenoiser(
      sd,
      context,
      context,
      1,
      graph,
      net && condition ? { net, condition: condition.clone(), scale: 1 } : null,
    );
  const denoisers = { graph: make(true), tape: make(false) };
  return {
    unet: sd.unetGraph,
    denoisers,
    inputs: { sample, timestep: tf.tensor1d([700]), encoder_hidden_states: context },
    sample,
    sagLabel: net ? ' with ControlNet' : '',
    dispose: () => {
      // Each denoiser disposes the shared context (a second dispose is a no-op) and its own condition copy.
      denoisers.graph.dispose();
      denoisers.tape.dispose();
      condition?.dispose();
      net?.dispose();
      sd.dispose();
    },
  };
}

/**
 * Forward, the input VJP by tf.grad and by the converter's VJP graph, and the symplectic SAG gradient (Euler, n
 * steps) through each, on one model: median times over `repeats` interleaved rounds, peak tensor memory and
 * kernel launches from one profiled run each.
 */
export async function runVjpBench(model: VjpBenchModel, n: number, repeats: number): Promise<VjpBenchRow[]> {
  const { unet, inputs, sample } = model;
  if (!unet.vjpGraph) throw new Error(`${unet.dir}: the model has no VJP graph (convert it with this sag)`);
  const out = tf.tidy(() => unet.execute(inputs, ['out'])[0]);
  const cotangent = tf.randomNormal(out.shape, 0, 1, 'float32', 3);
  out.dispose();
  const sag = (denoiser: Denoiser) => () =>
    tf.tidy(() => {
      const problem = makeEstimateProblem(denoiser.eps, denoiser.schedule, 700, { n });
      const g = estimateGradient(
        'symplectic',
        problem,
        sample,
        (x0) => tf.sum(tf.mul(x0, cotangent)) as tf.Scalar,
      );
      tf.dispose([g.x0hat, g.loss]);
      return g.grad;
    });
  const operations: { operation: string; run: () => tf.Tensor; reference?: number }[] = [
    { operation: 'forward', run: () => tf.tidy(() => unet.execute(inputs, ['out'])[0]) },
    {
      operation: 'input VJP, tf.grad',
      run: () =>
        tf.tidy(() =>
          tf.grad((x: tf.Tensor) => unet.execute({ ...inputs, sample: x }, ['out'])[0])(sample, cotangent),
        ),
    },
    {
      operation: 'input VJP, VJP graph',
      run: () => tf.tidy(() => unet.vjp(inputs, cotangent)),
      reference: 1,
    },
    { operation: `SAG gradient n=${n}${model.sagLabel ?? ''}, tf.grad`, run: sag(model.denoisers.tape) },
    {
      operation: `SAG gradient n=${n}${model.sagLabel ?? ''}, VJP graph`,
      run: sag(model.denoisers.graph),
      reference: 3,
    },
  ];
  const times: number[][] = operations.map(() => []);
  for (const op of operations) await timeTensorRun(op.run); // warm-up
  for (let r = 0; r < repeats; r++)
    for (const [i, op] of operations.entries()) times[i].push(await timeTensorRun(op.run));
  const rows: VjpBenchRow[] = [];
  const values: Float32Array[] = [];
  for (const [i, op] of operations.entries()) {
    const before = tf.memory().numBytes;
    let result: tf.Tensor | null = null;
    const profile = await tf.profile(async () => {
      result = op.run();
      await result.data();
      return [];
    });
    const value = (await (result as unknown as tf.Tensor).data()) as Float32Array;
    (result as unknown as tf.Tensor).dispose();
    values.push(value);
    rows.push({
      operation: op.operation,
      ms: median(times[i]),
      peakBytes: Math.max(0, Number(profile.peakBytes) - before),
      kernels: profile.kernels.length,
      relDiff: op.reference === undefined ? null : rowRelativeErrors(value, values[op.reference], 1)[0],
    });
  }
  cotangent.dispose();
  return rows;
}

export function formatVjpBenchTable(rows: VjpBenchRow[]): string {
  return formatTextTable(
    ['operation', 'ms', 'peak MiB', 'kernels', 'rel. diff'],
    rows.map((r) => [
      r.operation,
      r.ms.toFixed(0),
      (r.peakBytes / 2 ** 20).toFixed(0),
      String(r.kernels),
      r.relDiff === null ? '' : r.relDiff.toExponential(1),
    ]),
    1,
  );
}
