import * as path from 'path';
import { GenerateOptions } from '../options/generateOptions';
import { generateOptionsToJson } from '../options/optionsJson';
import { GuidanceMethodSpec } from './guidanceMethodSpec';

/** What a guidance evaluation compares: methods x strengths x targets x seeds, `num` images per cell. */
export interface GuidanceGridSpec {
  methods: GuidanceMethodSpec[];
  /**
   * Guidance strengths (`rhoScale`) of the methods without their own; the unguided method runs once per target
   * and seed.
   */
  strengths: number[];
  /** What each run steers towards: class indices or texts (`target`), or style images (`style`). */
  targets: string[];
  targetOption: 'target' | 'style';
  seeds: number[];
  /** Images per cell (one batch). */
  num: number;
  /** The options every cell shares (guidance loss, steps, prompt...). */
  generation: Partial<GenerateOptions>;
}

/** One sampling run of the grid: a method at a strength, towards a target, from a seed. */
export interface GuidanceCell {
  /** File-name-safe and unique within the grid, e.g. `sag-n=4_s0.002_t7_seed0`. */
  key: string;
  method: string;
  /** null for the unguided method. */
  strength: number | null;
  target: string;
  seed: number;
  options: Partial<GenerateOptions>;
}

/** A target as a short name: a style image by its file name, a class or text as itself. */
export function targetName(spec: Pick<GuidanceGridSpec, 'targetOption'>, target: string): string {
  return spec.targetOption === 'style' ? path.basename(target, path.extname(target)) : target;
}

/** `text` with every run of characters other than letters, digits and `.=+-` replaced by `-`. */
export function fileNameSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9.=+-]+/g, '-');
}

/** Every cell of the grid, in a fixed order (methods, then strengths, targets, seeds). */
export function gridCells(spec: GuidanceGridSpec): GuidanceCell[] {
  const cells: GuidanceCell[] = [];
  for (const method of spec.methods) {
    const strengths: (number | null)[] =
      method.method === 'none' ? [null] : (method.strengths ?? spec.strengths);
    for (const strength of strengths)
      for (const target of spec.targets)
        for (const seed of spec.seeds) {
          const name = targetName(spec, target);
          const key = [
            fileNameSafe(method.label),
            strength === null ? 'unguided' : `s${strength}`,
            `t${fileNameSafe(name)}`,
            `seed${seed}`,
          ].join('_');
          const options: Partial<GenerateOptions> = {
            ...spec.generation,
            ...method.options,
            [spec.targetOption]: target,
            seed,
            num: spec.num,
            ...(strength === null ? {} : { rhoScale: strength }),
          };
          cells.push({ key, method: method.label, strength, target: name, seed, options });
        }
  }
  const keys = new Set<string>();
  for (const cell of cells) {
    if (keys.has(cell.key))
      throw new Error(
        `two cells of the grid would share the name '${cell.key}': give targets distinct names`,
      );
    keys.add(cell.key);
  }
  return cells;
}

/** Raised when what a cell records changes, so that cells of an older sag are not read as this one's. */
const CELL_FORMAT = 2;

/**
 * What makes a finished cell reusable by a resumed run: its generation options, the models and the cell format
 * (a cell made with other settings is not the same cell).
 */
export function cellFingerprint(cell: GuidanceCell, models: Record<string, string | null>): string {
  return JSON.stringify({ format: CELL_FORMAT, options: generateOptionsToJson(cell.options), models });
}
