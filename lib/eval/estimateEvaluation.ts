import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../adjoint';
import { readValues } from '../backend/readTensor';
import { ImageLoss, lossPerImage } from '../losses/imageLoss';
import { ButcherTableau } from '../ode/butcherTableau';
import { cleanEstimate } from '../ode/cleanEstimate';
import { makeEstimateProblem } from '../ode/estimateProblem';
import { RK4 } from '../ode/tableaus';
import { GenerateOptions } from '../options/generateOptions';
import { buildGuidanceLoss } from '../pipeline/guidanceLoss';
import { Pipeline } from '../pipeline/pipeline';
import { MeanWithInterval, bootstrapMean, rowCosines, rowRelativeErrors } from './sampleStatistics';

export interface EstimateEvaluationOptions {
  timesteps: number[];
  ns: number[];
  tableaus: ButcherTableau[];
  /** Steps of the reference solve (RK4) from x_t: its endpoint is the "true" clean image. */
  referenceSteps: number;
  /** Samples per timestep (rounded up to whole batches). */
  samples: number;
  batch: number;
  seed: number;
  /** The guidance loss and what it needs (guidance, target, style, prompt...), and the unguided samples' steps. */
  generation: Partial<GenerateOptions>;
  onProgress?: (done: number, total: number) => void;
}

export interface EstimateEvaluationRow {
  timestep: number;
  tableau: string;
  n: number;
  /** ||x0hat - x0_ref|| / ||x0_ref|| per sample. */
  relativeError: MeanWithInterval;
  /** The guidance loss on the estimate, per sample. */
  loss: MeanWithInterval;
  /** cos(d loss(x0hat) / d x_t, d loss(x0_ref) / d x_t) per sample. */
  gradientCosine: MeanWithInterval;
  /** Median wall time of one estimate + symplectic gradient for a batch. */
  msPerBatch: number;
}

export interface EstimateEvaluation {
  rows: EstimateEvaluationRow[];
  /** The guidance loss on the reference estimate per timestep. */
  referenceLoss: Record<number, MeanWithInterval>;
  samples: number;
}

/**
 * Claim (a) of the paper on any model: for samples drawn from the model itself (unguided, seeded) and noised to
 * each timestep t, how close the n-step estimate of the clean image is to the endpoint of a fine solve of the same
 * ODE, the guidance loss on it, and how well the guidance gradient through it points like the fine solve's.
 * The gradients are the exact symplectic-adjoint ones. Means with 95 % bootstrap intervals over the samples.
 */
export async function evaluateEstimates(
  pipeline: Pipeline,
  options: EstimateEvaluationOptions,
): Promise<EstimateEvaluation> {
  const warn = () => undefined;
  const batches = Math.ceil(options.samples / options.batch);
  const o = pipeline.resolveOptions(
    { ...options.generation, method: 'none', num: options.batch, seed: options.seed },
    warn,
  );
  if (o.guidance.length === 0) throw new Error('guidance: eval estimate needs a guidance loss (e.g. class)');
  const denoiser = pipeline.createDenoiser(o, warn);
  const loss = buildGuidanceLoss(pipeline.lossModels, o, pipeline.readImage) as ImageLoss;
  const lossOnEstimate = (x0: tf.Tensor) => loss(denoiser.toImage(x0));
  const per = new Map<string, { err: number[]; loss: number[]; cos: number[]; ms: number[] }>();
  const referenceLosses = new Map<number, number[]>();
  const total = batches * options.timesteps.length;
  let done = 0;
  try {
    for (let b = 0; b < batches; b++) {
      const samples = await pipeline.generate(
        { ...options.generation, method: 'none', num: options.batch, seed: options.seed + b },
        { onWarning: warn },
      );
      const x0 = tf.tidy(() => denoiser.fromImage(samples.images));
      samples.images.dispose();
      for (const t of options.timesteps) {
        const abar = denoiser.schedule.abar(t);
        const xt = tf.tidy(() =>
          tf.add(
            tf.mul(x0, Math.sqrt(abar)),
            tf.mul(
              tf.randomNormal(x0.shape, 0, 1, 'float32', options.seed * 7919 + b * 1009 + t),
              Math.sqrt(1 - abar),
            ),
          ),
        );
        const reference = makeEstimateProblem(denoiser.eps, denoiser.schedule, t, {
          n: options.referenceSteps,
          tableau: RK4,
        });
        const x0Reference = cleanEstimate(reference, xt);
        const referenceGradient = estimateGradient('symplectic', reference, xt, lossOnEstimate);
        tf.dispose([referenceGradient.x0hat, referenceGradient.loss]);
        const [refValues, refGrad] = [
          await readValues(x0Reference),
          await readValues(referenceGradient.grad),
        ];
        push(referenceLosses, t, await perImageLoss(loss, denoiser.toImage(x0Reference)));
        for (const tableau of options.tableaus)
          for (const n of options.ns) {
            const problem = makeEstimateProblem(denoiser.eps, denoiser.schedule, t, { n, tableau });
            const begin = performance.now();
            const g = estimateGradient('symplectic', problem, xt, lossOnEstimate);
            const grad = await readValues(g.grad);
            const ms = performance.now() - begin;
            const key = `${t}|${tableau.name}|${n}`;
            const entry = per.get(key) ?? { err: [], loss: [], cos: [], ms: [] };
            entry.err.push(...rowRelativeErrors(await readValues(g.x0hat), refValues, options.batch));
            entry.cos.push(...rowCosines(grad, refGrad, options.batch));
            entry.loss.push(...(await perImageLoss(loss, denoiser.toImage(g.x0hat))));
            entry.ms.push(ms);
            per.set(key, entry);
            tf.dispose([g.grad, g.x0hat, g.loss]);
          }
        tf.dispose([xt, x0Reference, referenceGradient.grad]);
        options.onProgress?.(++done, total);
      }
      x0.dispose();
    }
  } finally {
    loss.dispose();
    denoiser.dispose();
  }
  const rows: EstimateEvaluationRow[] = [];
  for (const t of options.timesteps)
    for (const tableau of options.tableaus)
      for (const n of options.ns) {
        const e = per.get(`${t}|${tableau.name}|${n}`) as {
          err: number[];
          loss: number[];
          cos: number[];
          ms: number[];
        };
        rows.push({
          timestep: t,
          tableau: tableau.name,
          n,
          relativeError: bootstrapMean(e.err),
          loss: bootstrapMean(e.loss),
          gradientCosine: bootstrapMean(e.cos),
          msPerBatch: [...e.ms].sort((a, b) => a - b)[Math.floor(e.ms.length / 2)],
        });
      }
  const referenceLoss = Object.fromEntries(
    options.timesteps.map((t) => [t, bootstrapMean(referenceLosses.get(t) as number[])]),
  );
  return { rows, referenceLoss, samples: batches * options.batch };
}

function push(map: Map<number, number[]>, key: number, values: number[]): void {
  map.set(key, [...(map.get(key) ?? []), ...values]);
}

/** The loss of each image on its own (the images are disposed). */
async function perImageLoss(loss: ImageLoss, images: tf.Tensor4D): Promise<number[]> {
  const values = lossPerImage(loss, images);
  images.dispose();
  const result = Array.from(await readValues(values));
  values.dispose();
  return result;
}
