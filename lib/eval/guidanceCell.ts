import * as tf from '@tensorflow/tfjs';
import { measurePeakBytes } from '../bench/peakMemory';
import { NetworkCalls } from '../guidance/countingDenoiser';
import { writeImageGrid } from '../io/writeImageGrid';
import { ImageClassifier } from '../models/imageClassifier';
import { clipScores, clipTextEmbedding } from '../losses/clipScoreLoss';
import { GenerateOptions, optionSpec } from '../options/generateOptions';
import { Pipeline } from '../pipeline/pipeline';
import { GuidanceCell } from './guidanceGrid';

/** What one cell of a guidance grid measured, per image where it can (JSON: a resumed run reads it back). */
export interface GuidanceCellResult {
  key: string;
  method: string;
  strength: number | null;
  target: string;
  seed: number;
  /** See cellFingerprint: a resumed run reuses the cell only when this matches. */
  fingerprint: string;
  /** The estimate steps the method used (sag: n or 'from:to'; the one-step methods: 1; unguided: null). */
  n: unknown;
  repeats: number;
  /** Final guidance loss of each image. */
  losses: number[];
  /** The evaluator's verdict where the target is one of its classes. */
  evaluator: { predicted: number[]; targetProbability: number[] } | null;
  /** The evaluator's features of each image (for the Fréchet distance), when there is an evaluator. */
  features: number[][] | null;
  /**
   * CLIP score (100 cos) of each image against the text it should show (clip guidance: its target, else the
   * prompt), when the pipeline has a CLIP model with a tokenizer and there is such a text.
   */
  clipScore: number[] | null;
  /** Sampling time divided by the number of images (one batch). */
  secondsPerImage: number;
  /** Model evaluations of the run (one batch: every image had these). */
  networkCalls: NetworkCalls;
  /** Peak tensor memory of one guided sampling step of this cell's batch (tf.profile, above what was live before). */
  stepPeakBytes: number;
}

/** The class index an evaluator should see for a class-guidance target, or null. */
export function evaluatorClass(cell: GuidanceCell, evaluator: ImageClassifier): number | null {
  if (!cell.options.guidance?.includes('class')) return null;
  const index = Number(cell.target);
  return Number.isInteger(index) && index >= 0 && index < evaluator.classes ? index : null;
}

/** The text a cell's images should show: the clip guidance target, else the prompt (null: none). */
function clipText(o: GenerateOptions): string | null {
  const text = o.guidance.includes('clip') ? (o.target ?? o.prompt) : o.prompt;
  return text ? String(text) : null;
}

async function clipScoresOf(
  pipeline: Pipeline,
  images: tf.Tensor4D,
  text: string | null,
): Promise<number[] | null> {
  const clip = pipeline.clip;
  if (!clip?.tokenizer || text === null) return null;
  const embedding = clipTextEmbedding(clip, text);
  const scores = clipScores(clip, images, embedding);
  embedding.dispose();
  const values = Array.from(await scores.data());
  scores.dispose();
  return values;
}

/**
 * Runs one cell: samples its images, judges them with the independent evaluator, and writes them as a grid to
 * `samplesFile`. Throws on a failed run (NaN losses stop the pipeline loudly).
 */
export async function runGuidanceCell(
  pipeline: Pipeline,
  cell: GuidanceCell,
  evaluator: ImageClassifier | null,
  fingerprint: string,
  samplesFile: string,
  onWarning?: (message: string) => void,
): Promise<GuidanceCellResult> {
  const result = await pipeline.generate(cell.options, { onWarning });
  try {
    const o = result.options;
    let verdict: GuidanceCellResult['evaluator'] = null;
    let features: number[][] | null = null;
    if (evaluator) {
      const target = evaluatorClass(cell, evaluator);
      if (target !== null) {
        const probabilities = evaluator.probabilities(result.images);
        const rows = (await probabilities.array()) as number[][];
        probabilities.dispose();
        verdict = {
          predicted: rows.map((p) => p.indexOf(Math.max(...p))),
          targetProbability: rows.map((p) => p[target]),
        };
      }
      const embedding = evaluator.embedding(result.images);
      features = (await embedding.array()) as number[][];
      embedding.dispose();
    }
    const clipScore = await clipScoresOf(pipeline, result.images, clipText(o));
    const [, height] = result.images.shape;
    await writeImageGrid(samplesFile, result.images, { upscale: height <= 64 ? 2 : 1 });
    // The peak of a whole run is dominated by what the steps share; one guided step shows what the method adds.
    const step = await measurePeakBytes(async () => {
      const probe = await pipeline.generate({ ...cell.options, steps: 1, window: 'all' }, { onWarning });
      probe.images.dispose();
    });
    return {
      key: cell.key,
      method: cell.method,
      strength: cell.strength,
      target: cell.target,
      seed: cell.seed,
      fingerprint,
      n: o.method === 'sag' ? optionSpec('n').toJson(o.n) : o.method === 'none' ? null : 1,
      repeats: o.method === 'none' ? 1 : o.repeats,
      losses: result.finalLosses,
      evaluator: verdict,
      features,
      clipScore,
      secondsPerImage: result.timings.sampling / 1000 / o.num,
      networkCalls: result.networkCalls,
      stepPeakBytes: step.peakBytes,
    };
  } finally {
    tf.dispose(result.images);
  }
}
