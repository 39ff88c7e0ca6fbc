import * as tf from '@tensorflow/tfjs';
import { readValues } from '../backend/readTensor';
import { GLYPH_HEIGHT, GLYPH_WIDTH, drawText } from './bitmapFont';

export interface GridCell {
  /** [H, W, C] in [0, 1]. */
  image: tf.Tensor3D;
  caption?: string;
}

/**
 * Tiles equally sized images into rows x columns (row-major cells) with a 2-pixel white border and, if any cell
 * has a caption, a caption strip under each row. Returns [H, W, 3] in [0, 1]; the caller owns it. Reads the cells
 * asynchronously.
 */
export async function imageGrid(cells: GridCell[], columns: number): Promise<tf.Tensor3D> {
  if (cells.length === 0) throw new Error('imageGrid: no images');
  const [h, w] = cells[0].image.shape;
  const rows = Math.ceil(cells.length / columns);
  const gap = 2;
  const captioned = cells.some((c) => c.caption);
  const scale = Math.max(1, Math.floor(w / 48));
  const captionHeight = captioned ? (GLYPH_HEIGHT + 2) * scale + gap : 0;
  const width = columns * (w + gap) + gap;
  const height = rows * (h + gap + captionHeight) + gap;
  const pixels = await Promise.all(cells.map((cell) => readValues(cell.image)));
  const canvas = new Float32Array(width * height * 3).fill(1);
  cells.forEach((cell, k) => {
    const data = pixels[k];
    const c = cell.image.shape[2];
    const ox = gap + (k % columns) * (w + gap);
    const oy = gap + Math.floor(k / columns) * (h + gap + captionHeight);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < 3; ch++)
          canvas[((oy + y) * width + ox + x) * 3 + ch] = data[(y * w + x) * c + (c === 1 ? 0 : ch)];
    if (cell.caption) {
      const gray = new Float32Array(width * height).fill(-1);
      const maxChars = Math.floor(w / (GLYPH_WIDTH * scale));
      drawText(gray, width, height, cell.caption.slice(0, maxChars), ox, oy + h + gap, scale, 0);
      for (let i = 0; i < gray.length; i++)
        if (gray[i] === 0) canvas[i * 3] = canvas[i * 3 + 1] = canvas[i * 3 + 2] = 0;
    }
  });
  return tf.tensor3d(canvas, [height, width, 3]);
}
