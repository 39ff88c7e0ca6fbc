import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { imageFileToTensor, writeImageFile } from '../io/imageFile';
import { writeFileAtomically } from '../io/atomicWrite';
import { FrameJob } from './frameJob';
import { StylizedFrame } from './stylizeVideo';

/**
 * The jobs one of `count` workers runs: whole batches of `batch` consecutive frames, every count-th batch from
 * `index` (a batch is one generation; splitting it would change its shared step size).
 */
export function shardFrameJobs(
  jobs: FrameJob[],
  batch: number,
  shard: { index: number; count: number },
): FrameJob[] {
  return jobs.filter((_, i) => Math.floor(i / batch) % shard.count === shard.index);
}

/** A frame's file name without extension: its index with four digits (0000, 0001, ...). */
export const frameName = (index: number) => String(index).padStart(4, '0');

/** Writes a stylized frame to `dir`: the image as `<index>.png`, its loss and time as `<index>.json`. */
export async function writeStylizedFrame(dir: string, frame: StylizedFrame): Promise<void> {
  await writeImageFile(path.join(dir, `${frameName(frame.index)}.png`), frame.image);
  writeFileAtomically(
    path.join(dir, `${frameName(frame.index)}.json`),
    `${JSON.stringify({ index: frame.index, loss: frame.loss, ms: frame.ms, channels: frame.image.shape[2] })}\n`,
  );
}

/** How many frames the workers have written to `dir` so far. */
export function countStylizedFrames(dir: string): number {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).length : 0;
}

/**
 * The frames of `jobs` as workers wrote them to `dir` (images as 8-bit PNGs), in job order. The caller disposes
 * the images. Throws naming the first missing frame.
 */
export function readStylizedFrames(dir: string, jobs: FrameJob[]): StylizedFrame[] {
  const frames: StylizedFrame[] = [];
  try {
    for (const job of jobs) {
      const record = path.join(dir, `${frameName(job.index)}.json`);
      if (!fs.existsSync(record)) throw new Error(`frame ${job.index}: no worker wrote it`);
      const { loss, ms, channels } = JSON.parse(fs.readFileSync(record, 'utf8')) as {
        loss: number | null;
        ms: number;
        channels: 1 | 3;
      };
      const image = imageFileToTensor(path.join(dir, `${frameName(job.index)}.png`), channels);
      frames.push({
        index: job.index,
        image: tf.tidy(() => tf.squeeze(image, [0]) as tf.Tensor3D),
        loss,
        ms,
      });
      image.dispose();
    }
    return frames;
  } catch (error) {
    tf.dispose(frames.map((f) => f.image));
    throw error;
  }
}
