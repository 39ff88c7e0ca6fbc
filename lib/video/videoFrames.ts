import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { GifReader } from 'omggif';
import { imageFileToTensor } from '../io/imageFile';
import { FFMPEG_MISSING, findFfmpeg, runFfmpeg } from './ffmpeg';

export interface VideoFrames {
  /** Frames [H, W, 3] in [0, 1], in order; the caller disposes them. */
  frames: tf.Tensor3D[];
  /** Frames per second of the source (its GIF delays, ffmpeg's rate, or 8 for a folder). */
  fps: number;
}

export interface FrameSelection {
  /** At most this many frames. */
  frames: number;
  /** Every stride-th frame of the source. */
  stride: number;
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;
const FFMPEG_VIDEO = /\.(mp4|webm|mov|mkv|avi)$/i;

function select<T>(all: T[], selection: FrameSelection): T[] {
  return all.filter((_, i) => i % selection.stride === 0).slice(0, selection.frames);
}

function folderFrames(dir: string, selection: FrameSelection): string[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => IMAGE_FILE.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) throw new Error(`${dir}: no PNG or JPEG frames in this folder`);
  return select(files, selection).map((f) => path.join(dir, f));
}

function gifFrames(file: string, selection: FrameSelection): VideoFrames {
  let reader: GifReader;
  try {
    reader = new GifReader(fs.readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: not a readable GIF (${(e as Error).message})`);
  }
  const { width, height } = reader;
  const canvas = new Uint8Array(width * height * 4);
  const frames: tf.Tensor3D[] = [];
  let delay = 0;
  for (let i = 0; i < reader.numFrames(); i++) {
    // Frames may cover part of the canvas and keep the rest: decode onto the running canvas.
    reader.decodeAndBlitFrameRGBA(i, canvas);
    delay += reader.frameInfo(i).delay;
    if (i % selection.stride !== 0 || frames.length >= selection.frames) continue;
    frames.push(
      tf.tidy(() =>
        tf.div(tf.slice(tf.tensor3d(canvas, [height, width, 4], 'int32'), [0, 0, 0], [-1, -1, 3]), 255),
      ),
    );
  }
  const meanDelay = delay / Math.max(1, reader.numFrames()) / 100;
  return { frames, fps: meanDelay > 0 ? 1 / meanDelay / selection.stride : 8 };
}

function ffmpegFrames(file: string, selection: FrameSelection): VideoFrames {
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) throw new Error(`${file}: reading ${path.extname(file)} ${FFMPEG_MISSING}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sag-video-'));
  try {
    const fps = 8;
    runFfmpeg(
      ffmpeg,
      [
        '-i',
        file,
        '-vf',
        `fps=${fps}`,
        '-frames:v',
        String(selection.frames * selection.stride),
        path.join(dir, '%05d.png'),
      ],
      file,
    );
    return { frames: folderFrames(dir, selection).map(readFrame), fps: fps / selection.stride };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readFrame(file: string): tf.Tensor3D {
  return tf.tidy(() => tf.squeeze(imageFileToTensor(file, 3), [0]) as tf.Tensor3D);
}

/** The frames of a folder of images, a GIF, or (through ffmpeg) an mp4/webm/mov/mkv/avi file. */
export function readVideoFrames(input: string, selection: FrameSelection): VideoFrames {
  if (!fs.existsSync(input)) throw new Error(`${input}: file or folder not found`);
  if (fs.statSync(input).isDirectory())
    return { frames: folderFrames(input, selection).map(readFrame), fps: 8 / selection.stride };
  if (/\.gif$/i.test(input)) return gifFrames(input, selection);
  if (FFMPEG_VIDEO.test(input)) return ffmpegFrames(input, selection);
  throw new Error(`${input}: expected a folder of frames, a .gif, or an .mp4/.webm/.mov/.mkv/.avi video`);
}

/** The image files of a folder, in order (condition images such as depth maps, one per frame). */
export function framePaths(dir: string, selection: FrameSelection): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: folder not found`);
  return folderFrames(dir, selection);
}
