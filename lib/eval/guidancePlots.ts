import { ALL_TARGETS, GuidanceSummaryRow } from './guidanceSummary';
import { VegaLiteSpec, lineWithErrorBars, vegaLiteSvg } from './vegaLiteSvg';
import { MeanWithInterval } from './sampleStatistics';

/** An SVG plot of a guidance evaluation. */
export interface GuidancePlot {
  /** File name, e.g. `vs-strength.svg`. */
  file: string;
  svg: string;
}

interface Metric {
  title: string;
  value: (r: GuidanceSummaryRow) => MeanWithInterval | null;
  /** Start the axis at zero (costs: a flat line must look flat). */
  fromZero?: boolean;
}

interface Point {
  method: string;
  strength: number | null;
  n: number | null;
  calls: number;
  family: string;
  mean: number;
  low: number;
  high: number;
}

const point = (r: GuidanceSummaryRow, m: MeanWithInterval): Point => ({
  method: r.method,
  strength: r.strength,
  n: typeof r.n === 'number' ? r.n : null,
  calls: r.networkCalls.forward + (r.networkCalls.vjp ?? 0),
  family: r.method === 'freedom' ? 'sag' : r.method.replace(/:n=[^:]+/, ''),
  mean: m.mean,
  low: m.low,
  high: m.high,
});

const plain = (value: (r: GuidanceSummaryRow) => number) => (r: GuidanceSummaryRow) => {
  const v = value(r);
  return { mean: v, low: v, high: v, count: 1 };
};

function metricsOf(rows: GuidanceSummaryRow[]): Metric[] {
  const metrics: Metric[] = [];
  if (rows.some((r) => r.accuracy))
    metrics.push({ title: 'evaluator accuracy (target class)', value: (r) => r.accuracy });
  metrics.push({ title: 'final guidance loss', value: (r) => r.loss });
  if (rows.some((r) => r.frechet))
    metrics.push({
      title: 'Fréchet distance to real digits',
      value: (r) => (r.frechet ? plain(() => (r.frechet as { distance: number }).distance)(r) : null),
    });
  return metrics;
}

/** A line per `colorField` (and method family) with error bars and points; x and y as given. */
function linePanel(
  points: Point[],
  x: { field: string; title: string; log?: boolean },
  y: { title: string; fromZero?: boolean },
  colorField: string,
  colorTitle: string,
  extraLayers: VegaLiteSpec[] = [],
): VegaLiteSpec {
  return lineWithErrorBars({
    values: points,
    x: {
      field: x.field,
      type: 'quantitative',
      title: x.title,
      scale: x.log ? { type: 'log' } : { zero: false },
    },
    y: { title: y.title, scale: { zero: y.fromZero ?? false } },
    color: { field: colorField, type: 'nominal', title: colorTitle },
    line: { detail: { field: 'family' } },
    extraLayers,
  });
}

/** The rows to plot: those over all targets when the grid has several, else every row. */
function plottedRows(rows: GuidanceSummaryRow[]): GuidanceSummaryRow[] {
  const pooled = rows.filter((r) => r.target === ALL_TARGETS);
  return pooled.length > 0 ? pooled : rows;
}

function strengthPlot(rows: GuidanceSummaryRow[], metrics: Metric[]): VegaLiteSpec | null {
  const guided = rows.filter((r) => r.strength !== null);
  if (new Set(guided.map((r) => r.strength)).size < 2) return null;
  return {
    title: 'Quality against guidance strength (dashed: unguided)',
    hconcat: metrics.map((metric) => {
      const points = guided.flatMap((r) =>
        metric.value(r) ? [point(r, metric.value(r) as MeanWithInterval)] : [],
      );
      const unguided = rows.filter((r) => r.strength === null && metric.value(r));
      const rules = unguided.map((r) => ({
        data: { values: [point(r, metric.value(r) as MeanWithInterval)] },
        mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
        encoding: { y: { field: 'mean', type: 'quantitative' } },
      }));
      return linePanel(
        points,
        { field: 'strength', title: 'strength (rho scale)', log: true },
        { title: metric.title, fromZero: metric.fromZero },
        'method',
        'method',
        rules,
      );
    }),
  };
}

function estimateStepsPlot(rows: GuidanceSummaryRow[], metrics: Metric[]): VegaLiteSpec | null {
  // FreeDoM is SAG with n = 1 (the same gradient through the one-step estimate).
  const sag = rows.filter(
    (r) => typeof r.n === 'number' && (r.method.startsWith('sag') || r.method === 'freedom'),
  );
  if (new Set(sag.map((r) => r.n)).size < 2) return null;
  const withStrength = (p: Point) => ({ ...p, strengthText: String(p.strength) });
  const costMetrics: Metric[] = [
    { title: 'seconds per image', value: plain((r) => r.secondsPerImage), fromZero: true },
    {
      title: 'peak memory of a guided step (MiB)',
      value: plain((r) => r.stepPeakBytes / (1024 * 1024)),
      fromZero: true,
    },
  ];
  return {
    title: 'SAG against the estimate steps n (n = 1: FreeDoM)',
    hconcat: [...metrics, ...costMetrics].map((metric) =>
      linePanel(
        sag.map((r) => withStrength(point(r, metric.value(r) as MeanWithInterval))),
        { field: 'n', title: 'estimate steps n' },
        { title: metric.title, fromZero: metric.fromZero },
        'strengthText',
        'strength',
      ),
    ),
  };
}

function costPlot(rows: GuidanceSummaryRow[], metric: Metric): VegaLiteSpec | null {
  const guided = rows.filter((r) => r.strength !== null && metric.value(r));
  if (new Set(guided.map((r) => r.method)).size < 2) return null;
  const points = guided.map((r) => ({
    ...point(r, metric.value(r) as MeanWithInterval),
    strengthText: String(r.strength),
  }));
  const calls = points.map((p) => p.calls);
  return {
    title: `${metric.title} against cost`,
    width: 360,
    height: 240,
    data: { values: points },
    mark: { type: 'point', filled: true, size: 70 },
    encoding: {
      x: {
        field: 'calls',
        type: 'quantitative',
        title: 'model evaluations per image (forward + VJP)',
        scale: { type: 'log', nice: false, domain: [Math.min(...calls) / 1.5, Math.max(...calls) * 1.5] },
      },
      y: { field: 'mean', type: 'quantitative', title: metric.title, scale: { zero: false } },
      color: { field: 'method', type: 'nominal' },
      shape: { field: 'strengthText', type: 'nominal', title: 'strength' },
    },
  };
}

/** Quality against accuracy per method (each point a strength): which method buys accuracy for less quality. */
function tradeoffPlot(rows: GuidanceSummaryRow[]): VegaLiteSpec | null {
  const guided = rows.filter((r) => r.strength !== null && r.accuracy && r.frechet);
  if (new Set(guided.map((r) => r.method)).size < 2) return null;
  const points = guided.map((r) => ({
    method: r.method,
    strength: r.strength,
    accuracy: (r.accuracy as MeanWithInterval).mean,
    distance: (r.frechet as { distance: number }).distance,
  }));
  const unguided = rows.filter((r) => r.strength === null && r.accuracy && r.frechet);
  return {
    title: 'Fréchet distance to real digits against accuracy (each point: one strength; gray: unguided)',
    width: 420,
    height: 280,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'accuracy', type: 'quantitative', title: 'evaluator accuracy (target class)' },
          y: {
            field: 'distance',
            type: 'quantitative',
            title: 'Fréchet distance (lower: more like real digits)',
          },
          color: { field: 'method', type: 'nominal' },
          order: { field: 'strength', type: 'quantitative' },
        },
      },
      ...unguided.map((r) => ({
        data: {
          values: [{ accuracy: (r.accuracy as MeanWithInterval).mean, distance: r.frechet?.distance }],
        },
        mark: { type: 'point', shape: 'cross', size: 120, color: 'gray' },
        encoding: {
          x: { field: 'accuracy', type: 'quantitative' },
          y: { field: 'distance', type: 'quantitative' },
        },
      })),
    ],
  };
}

/**
 * The evaluation's plots (each only where the grid has what it needs): quality against strength per method
 * (`vs-strength.svg`), SAG against n with its time and memory (`vs-n.svg`), quality against model evaluations
 * per image for equal-cost comparisons (`vs-calls.svg`), and the Fréchet distance against accuracy
 * (`vs-accuracy.svg`: at equal accuracy, which method keeps the samples more like real digits).
 */
export async function guidancePlots(
  summary: GuidanceSummaryRow[],
): Promise<{ plots: GuidancePlot[]; skipped: string[] }> {
  const rows = plottedRows(summary);
  const metrics = metricsOf(rows);
  const specs: [string, VegaLiteSpec | null, string][] = [
    ['vs-strength.svg', strengthPlot(rows, metrics), 'needs two or more --strengths'],
    ['vs-n.svg', estimateStepsPlot(rows, metrics), 'needs SAG (or FreeDoM) at two or more n in --methods'],
    ['vs-calls.svg', costPlot(rows, metrics[0]), 'needs two or more guided methods'],
    ['vs-accuracy.svg', tradeoffPlot(rows), 'needs two or more guided methods and an evaluator'],
  ];
  const plots: GuidancePlot[] = [];
  const skipped: string[] = [];
  for (const [file, spec, needs] of specs)
    if (spec) plots.push({ file, svg: await vegaLiteSvg(spec) });
    else skipped.push(`${file} (${needs})`);
  return { plots, skipped };
}
