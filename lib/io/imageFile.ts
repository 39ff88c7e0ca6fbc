import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readValues } from '../backend/readTensor';
import { writeFileAtomically } from './atomicWrite';
import { declaredImageSize, oversizedImage } from './imageHeader';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  data: Uint8Array;
}

/** Decodes a PNG or JPEG file (by content, not extension). Throws one line naming the file if it cannot. */
export function readImageFile(file: string): RgbaImage {
  if (!fs.existsSync(file)) throw new Error(`${file}: image file not found`);
  const bytes = fs.readFileSync(file);
  const declared = declaredImageSize(bytes);
  const refusal = declared && oversizedImage(declared, bytes.length);
  if (refusal) throw new Error(`${file}: ${refusal}`);
  try {
    if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: decoded.width, height: decoded.height, data: decoded.data };
    }
  } catch (e) {
    throw new Error(`${file}: cannot decode image (${(e as Error).message})`);
  }
  throw new Error(`${file}: not a PNG or JPEG image`);
}

/**
 * An image file as a [1, H, W, channels] float tensor in [0, 1] (RGB averaged to gray for 1 channel), resized
 * bilinearly to `size` if given. Caller owns the result.
 */
export function imageFileToTensor(file: string, channels: 1 | 3 = 3, size?: [number, number]): tf.Tensor4D {
  const image = readImageFile(file);
  return tf.tidy(() => {
    const rgba = tf.tensor3d(image.data, [image.height, image.width, 4], 'int32');
    let rgb = tf.div(tf.slice(rgba, [0, 0, 0], [-1, -1, 3]).toFloat(), 255);
    if (channels === 1) rgb = tf.mean(rgb, 2, true);
    let batched = rgb.expandDims(0) as tf.Tensor4D;
    if (size && (size[0] !== image.height || size[1] !== image.width))
      batched = tf.image.resizeBilinear(batched, size, true);
    return batched;
  });
}

/** Encodes a [H, W, C] tensor in [0, 1] (C = 1 or 3) as PNG or JPEG bytes (reads the tensor asynchronously). */
export async function encodeImage(image: tf.Tensor3D, format: 'png' | 'jpeg', quality = 92): Promise<Buffer> {
  const [h, w, c] = image.shape;
  const bytes = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(image, 0, 1), 255)));
  const values = await readValues(bytes).finally(() => bytes.dispose());
  const rgba = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    for (let k = 0; k < 3; k++) rgba[i * 4 + k] = values[i * c + (c === 1 ? 0 : k)];
    rgba[i * 4 + 3] = 255;
  }
  if (format === 'png') {
    const png = new PNG({ width: w, height: h });
    rgba.copy(png.data);
    return PNG.sync.write(png);
  }
  return Buffer.from(jpeg.encode({ data: rgba, width: w, height: h }, quality).data);
}

export function imageFormatForPath(file: string): 'png' | 'jpeg' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new Error(`${file}: expected a .png, .jpg or .jpeg file name`);
}

/** Writes an image tensor [H, W, C] in [0, 1] to a .png/.jpg path, atomically. */
export async function writeImageFile(file: string, image: tf.Tensor3D): Promise<void> {
  writeFileAtomically(file, await encodeImage(image, imageFormatForPath(file)));
}
