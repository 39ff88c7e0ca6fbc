import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { GuidanceMethod } from '../lib/guidance/guidanceSettings';
import { formatLoss } from '../lib/io/formatLoss';
import { imageGrid } from '../lib/io/imageGrid';
import { runReportJson } from '../lib/io/runReport';
import { generateOptionsToJson } from '../lib/options/optionsJson';
import { packageVersion } from '../lib/packageRoot';
import { GenerateResult } from '../lib/pipeline/pipeline';
import { graphExecutor, recordedExecutorStats } from '../lib/recorded';

export interface MethodRun {
  method: GuidanceMethod;
  result: GenerateResult;
}

/** Images [N, H, W, C] enlarged k times by pixel repetition; a new tensor (the caller disposes both). */
function upscaled(images: tf.Tensor4D, k: number): tf.Tensor4D {
  const [, h, w] = images.shape;
  return k === 1 ? images.clone() : tf.image.resizeNearestNeighbor(images, [h * k, w * k]);
}

function caption(method: string, result: GenerateResult, b: number): string {
  const loss = result.finalLosses[b];
  return loss === undefined ? method : `${method} ${formatLoss(loss)}`;
}

/**
 * The picture a run writes: its one image, or a grid (one row per image and one column per method under
 * --compare; else a near-square grid), captioned with the method and final loss. The caller owns the result.
 */
export async function composeOutputImage(runs: MethodRun[], upscale: number): Promise<tf.Tensor3D> {
  const compared = runs.length > 1;
  const cells = runs.flatMap(({ method, result }) =>
    tf
      .tidy(() => tf.unstack(upscaled(result.images, upscale)))
      .map((image, b) => ({
        image: image as tf.Tensor3D,
        caption: compared || result.finalLosses.length ? caption(method, result, b) : undefined,
      })),
  );
  if (cells.length === 1) return cells[0].image;
  try {
    const num = runs[0].result.images.shape[0];
    const ordered = compared
      ? Array.from({ length: num }, (_, b) => runs.map((_, m) => cells[m * num + b])).flat()
      : cells;
    return await imageGrid(ordered, compared ? runs.length : Math.ceil(Math.sqrt(cells.length)));
  } finally {
    tf.dispose(cells.map((c) => c.image));
  }
}

/**
 * How converted graphs ran: the executor, and on webgpu what the recorded executor did and the GPU memory its
 * recordings hold (the run's GPU memory beyond tfjs's pool).
 */
function graphExecutorReport(): Record<string, unknown> {
  const onWebgpu = tf.getBackend() === 'webgpu';
  if (!onWebgpu || graphExecutor() === 'tfjs')
    return { executor: onWebgpu ? 'tfjs' : `tfjs (${tf.getBackend()})` };
  const stats = recordedExecutorStats;
  return {
    executor: 'recorded',
    recordings: stats.recordings,
    replays: stats.replays,
    dispatchesReplayed: stats.dispatches,
    issueMs: Math.round(stats.issueMs),
    recordedMiB: Number((stats.heldBytes / 2 ** 20).toFixed(1)),
    gpuAllocatedMiB: Number(
      (((tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? 0) / 2 ** 20).toFixed(
        1,
      ),
    ),
    notRecorded: stats.refusals ? { runs: stats.refusals, firstReason: stats.refusalReason } : null,
  };
}

export interface ReportContext {
  command: string;
  out: string;
  backendDescription: string;
  models: Record<string, string | null>;
  settingSources: Record<string, string>;
  upscale: number;
}

/** The --report JSON: what ran, where each setting came from, and per method the steps, timings and memory. */
export function generationReport(context: ReportContext, runs: MethodRun[]): string {
  return runReportJson({
    tool: 'sag',
    sagVersion: packageVersion(),
    createdAt: new Date().toISOString(),
    argv: process.argv.slice(2),
    command: context.command,
    output: path.resolve(context.out),
    backend: context.backendDescription,
    graphExecutor: graphExecutorReport(),
    models: context.models,
    settingSources: context.settingSources,
    runs: runs.map(({ method, result }) => ({
      method,
      options: generateOptionsToJson(result.options),
      seed: result.options.seed,
      finalLosses: result.finalLosses,
      steps: result.records,
      timingsMs: result.timings,
      memory: result.memory,
      networkCalls: result.networkCalls,
    })),
    upscale: context.upscale,
  });
}

/** One line per method: sampling time (model / guidance split where measured) and final losses. */
export function summaryLines(runs: MethodRun[]): string[] {
  return runs.map(({ method, result }) => {
    const losses = result.finalLosses.length
      ? ` final loss ${result.finalLosses.map(formatLoss).join(', ')}`
      : '';
    const t = result.timings;
    const split = t['sampling: guidance']
      ? ` (model ${(t['sampling: model'] / 1000).toFixed(1)} s, guidance ${(t['sampling: guidance'] / 1000).toFixed(1)} s)`
      : '';
    return `${method}: ${(t.sampling / 1000).toFixed(1)} s sampling${split}${losses}`;
  });
}
