import { formatTextTable } from '../bench/textTable';
import { MeanWithInterval } from './sampleStatistics';
import { EstimateEvaluation } from './estimateEvaluation';

const withInterval = (m: MeanWithInterval, digits = 3) =>
  `${m.mean.toPrecision(digits)} [${m.low.toPrecision(digits)}, ${m.high.toPrecision(digits)}]`;

/** The evaluation as a Markdown table (means with 95 % bootstrap intervals). */
export function estimateEvaluationMarkdown(e: EstimateEvaluation): string {
  const header = ['t', 'tableau', 'n', 'x0 rel. error', 'loss on estimate', 'gradient cosine', 'ms / batch'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...e.rows.map(
      (r) =>
        `| ${r.timestep} | ${r.tableau} | ${r.n} | ${withInterval(r.relativeError)} | ${withInterval(r.loss)} | ${withInterval(r.gradientCosine)} | ${r.msPerBatch.toFixed(0)} |`,
    ),
  ];
  const reference = Object.entries(e.referenceLoss)
    .map(([t, m]) => `t = ${t}: ${withInterval(m)}`)
    .join('; ');
  return `${lines.join('\n')}\n\nLoss on the reference estimate: ${reference}. ${e.samples} samples per timestep; [95 % bootstrap interval].\n`;
}

/** One CSV line per row, with the interval bounds as columns. */
export function estimateEvaluationCsv(e: EstimateEvaluation): string {
  const header =
    'timestep,tableau,n,rel_error,rel_error_low,rel_error_high,loss,loss_low,loss_high,cosine,cosine_low,cosine_high,ms_per_batch';
  const cells = (m: MeanWithInterval) => [m.mean, m.low, m.high].join(',');
  return (
    [
      header,
      ...e.rows.map(
        (r) =>
          `${r.timestep},${r.tableau},${r.n},${cells(r.relativeError)},${cells(r.loss)},${cells(r.gradientCosine)},${r.msPerBatch.toFixed(1)}`,
      ),
    ].join('\n') + '\n'
  );
}

/** A compact aligned table for the terminal. */
export function estimateEvaluationTable(e: EstimateEvaluation): string {
  return formatTextTable(
    ['t', 'tableau', 'n', 'x0 rel. error', 'gradient cosine', 'loss', 'ms/batch'],
    e.rows.map((r) => [
      String(r.timestep),
      r.tableau,
      String(r.n),
      withInterval(r.relativeError, 2),
      withInterval(r.gradientCosine, 2),
      r.loss.mean.toPrecision(3),
      r.msPerBatch.toFixed(0),
    ]),
    2,
  );
}
