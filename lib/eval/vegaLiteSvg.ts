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
