import { EstimateEvaluation } from './estimateEvaluation';
import { MeanWithInterval } from './sampleStatistics';
import { lineWithErrorBars, vegaLiteSvg } from './vegaLiteSvg';

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
    return lineWithErrorBars({
      values: points,
      x,
      y: { title, scale: log ? { type: 'log' } : { zero: false } },
      color: { field: 't', type: 'nominal', title: 'timestep', sort: null },
      // Dashes tell the sub-solvers apart; the legend shows them by their point shapes.
      line: {
        strokeDash: { field: 'tableau', type: 'nominal', legend: null },
        shape: { field: 'tableau', type: 'nominal', title: 'sub-solver' },
      },
      bars: { detail: { field: 'tableau' } },
      height: 220,
    });
  };
  return vegaLiteSvg({
    title: `The n-step clean estimate against a fine solve (${evaluation.samples} samples per timestep)`,
    hconcat: [
      panel('relative error of the estimate', (r) => r.relativeError, true),
      panel('gradient cosine with the fine solve', (r) => r.gradientCosine, false),
    ],
  });
}
