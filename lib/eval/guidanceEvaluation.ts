import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomically } from '../io/atomicWrite';
import { imageFileToTensor, writeImageFile } from '../io/imageFile';
import { imageGrid } from '../io/imageGrid';
import { ImageClassifier } from '../models/imageClassifier';
import { Pipeline } from '../pipeline/pipeline';
import { GuidanceCellResult, runGuidanceCell } from './guidanceCell';
import { GuidanceCell, GuidanceGridSpec, cellFingerprint, gridCells } from './guidanceGrid';

/** Where a grid keeps its finished cells: `<out-dir>/cells/<key>.json` and the samples `<key>.png`. */
export function cellFiles(outDir: string, cell: GuidanceCell): { json: string; png: string } {
  const dir = path.join(outDir, 'cells');
  return { json: path.join(dir, `${cell.key}.json`), png: path.join(dir, `${cell.key}.png`) };
}

/**
 * A finished cell from an earlier run, or null when it has not run. Throws when the cell was made with other
 * settings: a resumed grid must not mix them.
 */
export function finishedCell(
  outDir: string,
  cell: GuidanceCell,
  fingerprint: string,
): GuidanceCellResult | null {
  const { json, png } = cellFiles(outDir, cell);
  if (!fs.existsSync(json) || !fs.existsSync(png)) return null;
  let result: GuidanceCellResult;
  try {
    result = JSON.parse(fs.readFileSync(json, 'utf8')) as GuidanceCellResult;
  } catch {
    return null; // an interrupted write leaves no file (atomic writes); anything unreadable is run again
  }
  if (result.fingerprint !== fingerprint)
    throw new Error(
      `--out-dir ${outDir}: cell ${cell.key} was made with other settings or models; resume with the same ones, or pass --restart to discard the earlier cells`,
    );
  return result;
}

export interface GuidanceRunOptions {
  outDir: string;
  /** The models' directories, part of each cell's fingerprint. */
  models: Record<string, string | null>;
  /** Run only the cells whose index in the grid is `index` modulo `count` (one of several worker processes). */
  shard?: { index: number; count: number };
  onCell?: (done: number, total: number, cell: GuidanceCell, reused: boolean) => void;
  onWarning?: (message: string) => void;
}

/**
 * Runs every cell of the grid (of its shard) that has not finished in `outDir` yet, writing each as soon as it is
 * done so that an interrupted grid resumes where it stopped. Returns the results of the cells it was given, in
 * the grid's order.
 */
export async function runGuidanceGrid(
  pipeline: Pipeline,
  evaluator: ImageClassifier | null,
  spec: GuidanceGridSpec,
  options: GuidanceRunOptions,
): Promise<GuidanceCellResult[]> {
  const cells = gridCells(spec).filter(
    (_, i) => !options.shard || i % options.shard.count === options.shard.index,
  );
  const results: GuidanceCellResult[] = [];
  for (const [i, cell] of cells.entries()) {
    const fingerprint = cellFingerprint(cell, options.models);
    const earlier = finishedCell(options.outDir, cell, fingerprint);
    let result = earlier;
    if (!result) {
      const files = cellFiles(options.outDir, cell);
      result = await runGuidanceCell(pipeline, cell, evaluator, fingerprint, files.png, options.onWarning);
      writeFileAtomically(files.json, `${JSON.stringify(result)}\n`);
    }
    results.push(result);
    options.onCell?.(i + 1, cells.length, cell, earlier !== null);
  }
  return results;
}

/** Reads every cell of the grid from `outDir`; throws naming the first one that is missing. */
export function readGuidanceGrid(
  spec: GuidanceGridSpec,
  outDir: string,
  models: Record<string, string | null>,
): GuidanceCellResult[] {
  return gridCells(spec).map((cell) => {
    const result = finishedCell(outDir, cell, cellFingerprint(cell, models));
    if (!result) throw new Error(`--out-dir ${outDir}: cell ${cell.key} did not finish`);
    return result;
  });
}

/**
 * One picture of the grid: for one target and seed, a row per method with its samples at each strength, captioned
 * (the unguided method's single tile is followed by blanks). Written to `file`.
 */
export async function writeGridOverview(
  spec: GuidanceGridSpec,
  outDir: string,
  target: string,
  seed: number,
  file: string,
): Promise<void> {
  const chosen = gridCells(spec).filter((c) => c.target === target && c.seed === seed);
  const columns = Math.max(1, ...spec.methods.map((m) => (m.strengths ?? spec.strengths).length));
  const tiles: { image: tf.Tensor3D; caption: string }[] = [];
  try {
    for (const method of spec.methods) {
      const row = chosen.filter((c) => c.method === method.label);
      for (const cell of row) {
        const image = imageFileToTensor(cellFiles(outDir, cell).png, 3);
        tiles.push({
          image: tf.tidy(() => tf.squeeze(image, [0]) as tf.Tensor3D),
          caption: cell.strength === null ? cell.method : `${cell.method} s=${cell.strength}`,
        });
        image.dispose();
      }
      for (let blank = row.length; blank < columns; blank++)
        tiles.push({ image: tf.onesLike(tiles[tiles.length - 1].image), caption: '' });
    }
    const [h, w] = tiles[0].image.shape;
    if (tiles.some((t) => t.image.shape[0] !== h || t.image.shape[1] !== w))
      throw new Error('the cells of the grid have samples of different sizes');
    const picture = await imageGrid(tiles, columns);
    await writeImageFile(file, picture);
    picture.dispose();
  } finally {
    tf.dispose(tiles.map((t) => t.image));
  }
}
