import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { GIFEncoder, applyPalette, quantize } from 'gifenc';
import { FFMPEG_MISSING, findFfmpeg, runFfmpeg } from './ffmpeg';

/** RGBA bytes of a [H, W, C] frame in [0, 1] (C = 1 or 3). */
async function rgbaBytes(frame: tf.Tensor3D): Promise<Uint8Array> {
  const rgba = tf.tidy(() => {
    const rgb = frame.shape[2] === 1 ? tf.tile(frame, [1, 1, 3]) : frame;
    const bytes = tf.round(tf.mul(tf.clipByValue(rgb, 0, 1), 255));
    return tf.concat([bytes, tf.fill([frame.shape[0], frame.shape[1], 1], 255)], 2).toInt();
  });
  const data = Uint8Array.from(await rgba.data());
  rgba.dispose();
  return data;
}

/** Writes frames ([H, W, C] in [0, 1]) as a looping animated GIF, one 256-colour palette per frame. */
export async function writeGif(file: string, frames: tf.Tensor3D[], fps: number): Promise<void> {
  const gif = GIFEncoder();
  const delay = Math.round(1000 / fps);
  for (const frame of frames) {
    const rgba = await rgbaBytes(frame);
    const palette = quantize(rgba, 256);
    gif.writeFrame(applyPalette(rgba, palette), frame.shape[1], frame.shape[0], {
      palette,
      delay,
      repeat: 0,
    });
  }
  gif.finish();
  fs.writeFileSync(file, gif.bytes());
}

/** Encodes a folder of numbered PNG frames (`%04d.png`) as an H.264 mp4 (or VP9 webm) through ffmpeg. */
export function writeFfmpegVideo(file: string, framesDir: string, fps: number): void {
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) throw new Error(`${file}: writing ${path.extname(file)} ${FFMPEG_MISSING}`);
  const codec = /\.webm$/i.test(file) ? ['-c:v', 'libvpx-vp9'] : ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'];
  // Even sides for yuv420p: small frames are scaled up by whole factors rather than padded.
  runFfmpeg(
    ffmpeg,
    [
      '-framerate',
      String(fps),
      '-i',
      path.join(framesDir, '%04d.png'),
      '-vf',
      'scale=trunc(iw/2)*2:trunc(ih/2)*2:flags=neighbor',
      ...codec,
      file,
    ],
    file,
  );
}
