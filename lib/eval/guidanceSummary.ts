import { FeatureStatistics, featureStatistics, frechetDistance } from './frechetDistance';
import { GuidanceCellResult } from './guidanceCell';
import { RealFeatures, realImagesFrechetDistance, referenceKey } from './realFeatures';
import { MeanWithInterval, clusteredBootstrapMean } from './sampleStatistics';

/** The pooled target of rows that average over every target of the grid. */
export const ALL_TARGETS = 'all';

/** One method at one strength towards one target (or all), over every seed of the grid. */
export interface GuidanceSummaryRow {
  method: string;
  strength: number | null;
  target: string;
  n: unknown;
  repeats: number;
  images: number;
  seeds: number;
  /** Final guidance loss (95 % two-stage bootstrap interval over seeds and images). */
  loss: MeanWithInterval;
  /** Fraction of images the evaluator assigns to the target class. */
  accuracy: MeanWithInterval | null;
  /** The evaluator's mean probability of the target class. */
  targetProbability: MeanWithInterval | null;
  /**
   * Fréchet distance between the evaluator features of the images and of real images (of the target class where
   * the target is one), beside that of as many held-out real images (`realFloor`); rows over all targets give
   * the mean over targets.
   */
  frechet: { distance: number; realFloor: number } | null;
  /** CLIP score (100 cos) against the text the images should show, where measured. */
  clipScore: MeanWithInterval | null;
  secondsPerImage: number;
  /** Model evaluations each image went through: forward, and VJPs (null: not counted, tf.grad fallback). */
  networkCalls: { forward: number; vjp: number | null };
  /** Peak tensor memory of one guided step (the largest over the row's cells). */
  stepPeakBytes: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** The real-image floor per reference and sample count: rows of one grid share a few of them. */
type FloorCache = Map<string, number>;

function frechetOf(cells: GuidanceCellResult[], real: RealFeatures, target: string, floors: FloorCache) {
  const rows = cells.flatMap((c) => c.features ?? []);
  if (rows.length < 2 || rows.length !== cells.reduce((sum, c) => sum + c.losses.length, 0)) return null;
  const key = referenceKey(real, target);
  const stats: FeatureStatistics = featureStatistics(rows.flat(), real.dimension);
  return {
    distance: frechetDistance(stats, real.reference.get(key) as FeatureStatistics),
    realFloor: cachedFloor(
      floors,
      `${key}|${rows.length}`,
      () => realImagesFrechetDistance(real, key, rows.length).distance,
    ),
  };
}

function cachedFloor(floors: FloorCache, key: string, compute: () => number): number {
  if (!floors.has(key)) floors.set(key, compute());
  return floors.get(key) as number;
}

function summarize(
  cells: GuidanceCellResult[],
  target: string,
  frechet: GuidanceSummaryRow['frechet'],
): GuidanceSummaryRow {
  const first = cells[0];
  const judged = cells.every((c) => c.evaluator !== null);
  const targetIndex = Number(first.target);
  return {
    method: first.method,
    strength: first.strength,
    target,
    n: first.n,
    repeats: first.repeats,
    images: cells.reduce((sum, c) => sum + c.losses.length, 0),
    seeds: new Set(cells.map((c) => c.seed)).size,
    loss: clusteredBootstrapMean(cells.map((c) => c.losses)),
    accuracy: judged
      ? clusteredBootstrapMean(
          cells.map((c) =>
            (c.evaluator as NonNullable<GuidanceCellResult['evaluator']>).predicted.map((p) =>
              // Pooled rows compare each cell with its own target.
              p === (target === ALL_TARGETS ? Number(c.target) : targetIndex) ? 1 : 0,
            ),
          ),
        )
      : null,
    targetProbability: judged
      ? clusteredBootstrapMean(
          cells.map((c) => (c.evaluator as NonNullable<GuidanceCellResult['evaluator']>).targetProbability),
        )
      : null,
    frechet,
    clipScore: cells.every((c) => c.clipScore !== null)
      ? clusteredBootstrapMean(cells.map((c) => c.clipScore as number[]))
      : null,
    secondsPerImage: mean(cells.map((c) => c.secondsPerImage)),
    networkCalls: {
      forward: mean(cells.map((c) => c.networkCalls.forward)),
      vjp: cells.every((c) => c.networkCalls.vjp !== null)
        ? mean(cells.map((c) => c.networkCalls.vjp as number))
        : null,
    },
    stepPeakBytes: Math.max(...cells.map((c) => c.stepPeakBytes)),
  };
}

/**
 * The grid's table: a row per method, strength and target over every seed, and, when there are several targets,
 * a row per method and strength over all of them. Rows keep the order of `cells` (the grid's order).
 */
export function summarizeGuidanceGrid(
  cells: GuidanceCellResult[],
  real: RealFeatures | null,
): GuidanceSummaryRow[] {
  const floors: FloorCache = new Map();
  const groups = new Map<string, GuidanceCellResult[]>();
  for (const cell of cells) {
    const key = JSON.stringify([cell.method, cell.strength, cell.target]);
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  const perTarget = [...groups.values()].map((group) =>
    summarize(group, group[0].target, real ? frechetOf(group, real, group[0].target, floors) : null),
  );
  const targets = new Set(cells.map((c) => c.target));
  if (targets.size < 2) return perTarget;
  const pooled = new Map<string, GuidanceSummaryRow[]>();
  for (const row of perTarget) {
    const key = JSON.stringify([row.method, row.strength]);
    pooled.set(key, [...(pooled.get(key) ?? []), row]);
  }
  const rows: GuidanceSummaryRow[] = [];
  for (const [key, group] of pooled) {
    rows.push(...group);
    const [method, strength] = JSON.parse(key) as [string, number | null];
    const groupCells = cells.filter((c) => c.method === method && c.strength === strength);
    const frechets = group.map((r) => r.frechet);
    const frechet = frechets.every((f) => f !== null)
      ? {
          distance: mean(frechets.map((f) => f.distance)),
          realFloor: mean(frechets.map((f) => f.realFloor)),
        }
      : null;
    rows.push(summarize(groupCells, ALL_TARGETS, frechet));
  }
  return rows;
}
