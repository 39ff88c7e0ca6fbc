import * as tf from '@tensorflow/tfjs';
import { readValues } from '../backend/readTensor';
import { GLYPH_HEIGHT, GLYPH_WIDTH, drawText } from './bitmapFont';

export interface GridCell {
  /** [H, W, C] in [0, 1]. */
  image: tf.Tensor3D;
  caption?: string;
}

/**
 * A caption as lines that fit `width` pixels: the whole caption if it fits, else one word per line. A word is
 * never cut (the grid widens its cells for the longest one instead), so a number is never shown truncated.
 */
export function captionLines(caption: string, width: number, scale: number): string[] {
  const fits = (s: string) => s.length * GLYPH_WIDTH * scale <= width;
  return fits(caption) ? [caption] : caption.split(/\s+/).filter((w) => w.length > 0);
}

/**
 * Tiles equally sized images into rows x columns (row-major cells) with a 2-pixel white border and, if any cell
 * has a caption, a caption strip under each row. Cells are widened when a caption word is wider than the image.
 * Returns [H, W, 3] in [0, 1]; the caller owns it. Reads the cells asynchronously.
 */
export async function imageGrid(cells: GridCell[], columns: number): Promise<tf.Tensor3D> {
  if (cells.length === 0) throw new Error('imageGrid: no images');
  const [h, w] = cells[0].image.shape;
  const rows = Math.ceil(cells.length / columns);
  const gap = 2;
  const scale = Math.max(1, Math.floor(w / 48));
  const lines = cells.map((c) => (c.caption ? captionLines(c.caption, w, scale) : []));
  const cellWidth = Math.max(w, ...lines.flat().map((l) => l.length * GLYPH_WIDTH * scale));
  const lineHeight = (GLYPH_HEIGHT + 1) * scale;
  const maxLines = Math.max(0, ...lines.map((l) => l.length));
  const captionHeight = maxLines > 0 ? maxLines * lineHeight + gap : 0;
  const width = columns * (cellWidth + gap) + gap;
  const height = rows * (h + gap + captionHeight) + gap;
  const pixels = await Promise.all(cells.map((cell) => readValues(cell.image)));
  const canvas = new Float32Array(width * height * 3).fill(1);
  const text = new Float32Array(width * height).fill(-1);
  cells.forEach((cell, k) => {
    const data = pixels[k];
    const c = cell.image.shape[2];
    const ox = gap + (k % columns) * (cellWidth + gap);
    const oy = gap + Math.floor(k / columns) * (h + gap + captionHeight);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < 3; ch++)
          canvas[((oy + y) * width + ox + x) * 3 + ch] = data[(y * w + x) * c + (c === 1 ? 0 : ch)];
    lines[k].forEach((line, i) =>
      drawText(text, width, height, line, ox, oy + h + gap + i * lineHeight, scale, 0),
    );
  });
  for (let i = 0; i < text.length; i++)
    if (text[i] === 0) canvas[i * 3] = canvas[i * 3 + 1] = canvas[i * 3 + 2] = 0;
  return tf.tensor3d(canvas, [height, width, 3]);
}
