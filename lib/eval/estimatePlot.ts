import { EstimateEvaluation } from './estimateEvaluation';
import { MeanWithInterval } from './sampleStatistics';
import { VegaLiteSpec, vegaLiteSvg } from './vegaLiteSvg';

/**
 * Claim (a) as a picture (`estimate.svg`): the relative error of the n-step clean estimate and the cosine of its
 * guidance gradient with the fine solve's, against n, a line per timestep (dashed per sub-solver), with the
 * bootstrap intervals as error bars.
 */
export async function estimatePlot(evaluation: EstimateEvaluation): Promise<string> {
  const panel = (
    title: string,
    value: (r: EstimateEvaluation['rows'][number]) => MeanWithInterval,
    log: boolean,
  ) => {
    const points = evaluation.rows.map((r) => {
      const m = value(r);
      return { n: r.n, t: `t = ${r.timestep}`, tableau: r.tableau, mean: m.mean, low: m.low, high: m.high };
    });
    const x = {
      field: 'n',
      type: 'quantitative',
      title: 'estimate steps n',
      scale: { type: 'log', base: 2 },
      axis: { values: [...new Set(evaluation.rows.map((r) => r.n))], format: 'd' },
    };
    const y = { field: 'mean', type: 'quantitative', title, scale: log ? { type: 'log' } : { zero: false } };
    const color = { field: 't', type: 'nominal', title: 'timestep', sort: null };
    return {
      width: 300,
      height: 220,
      data: { values: points },
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x,
            y,
            color,
            // Dashes tell the sub-solvers apart; the legend shows them by their point shapes.
            strokeDash: { field: 'tableau', type: 'nominal', legend: null },
            shape: { field: 'tableau', type: 'nominal', title: 'sub-solver' },
          },
        },
        {
          mark: { type: 'errorbar', ticks: true },
          encoding: {
            x,
            y: { field: 'low', type: 'quantitative', title },
            y2: { field: 'high' },
            color,
            detail: { field: 'tableau' },
          },
        },
      ],
    } as VegaLiteSpec;
  };
  return vegaLiteSvg({
    title: `The n-step clean estimate against a fine solve (${evaluation.samples} samples per timestep)`,
    hconcat: [
      panel('relative error of the estimate', (r) => r.relativeError, true),
      panel('gradient cosine with the fine solve', (r) => r.gradientCosine, false),
    ],
  });
}
