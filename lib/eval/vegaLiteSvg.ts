/* eslint-disable @typescript-eslint/no-require-imports -- vega's CommonJS Node builds, loaded when a plot is drawn */

/** A vega-lite specification (https://vega.github.io/vega-lite/), without its $schema. */
export type VegaLiteSpec = Record<string, unknown>;

/** Renders a vega-lite specification to SVG text, headless (vega's 'none' renderer; no canvas, no browser). */
export async function vegaLiteSvg(spec: VegaLiteSpec): Promise<string> {
  const vega = require('vega') as typeof import('vega');
  const vegaLite = require('vega-lite') as typeof import('vega-lite');
  const compiled = vegaLite.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    padding: 12,
    ...spec,
  } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A panel of lines with points and error bars, drawn from rows with `mean`, `low` and `high`. */
export interface LinePanel {
  values: object[];
  /** The x encoding (shared by the lines and the bars). */
  x: Record<string, unknown>;
  y: { title: string; scale: Record<string, unknown> };
  color: Record<string, unknown>;
  /** Further encodings of the lines only (detail, strokeDash, shape). */
  line?: Record<string, unknown>;
  /** Further encodings of the error bars only (detail). */
  bars?: Record<string, unknown>;
  extraLayers?: VegaLiteSpec[];
  height?: number;
}

export function lineWithErrorBars(panel: LinePanel): VegaLiteSpec {
  return {
    width: 300,
    height: panel.height ?? 200,
    data: { values: panel.values },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: panel.x,
          y: { field: 'mean', type: 'quantitative', title: panel.y.title, scale: panel.y.scale },
          color: panel.color,
          ...panel.line,
        },
      },
      {
        mark: { type: 'errorbar', ticks: true },
        // The same axis title as the line's, or vega-lite would join both titles.
        encoding: {
          x: panel.x,
          y: { field: 'low', type: 'quantitative', title: panel.y.title },
          y2: { field: 'high' },
          color: panel.color,
          ...panel.bars,
        },
      },
      ...(panel.extraLayers ?? []),
    ],
  };
}
