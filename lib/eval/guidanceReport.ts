import { formatTextTable } from '../bench/textTable';
import { GuidanceSummaryRow } from './guidanceSummary';
import { MeanWithInterval } from './sampleStatistics';

const MIB = 1024 * 1024;

function interval(m: MeanWithInterval | null, digits = 3, scale = 1): string {
  if (!m) return '-';
  const f = (v: number) => (v * scale).toPrecision(digits);
  return `${f(m.mean)} [${f(m.low)}, ${f(m.high)}]`;
}

const strength = (r: GuidanceSummaryRow) => (r.strength === null ? '-' : String(r.strength));
const calls = (r: GuidanceSummaryRow) =>
  `${Math.round(r.networkCalls.forward)} + ${r.networkCalls.vjp === null ? '?' : Math.round(r.networkCalls.vjp)}`;
const frechet = (r: GuidanceSummaryRow) =>
  r.frechet ? `${r.frechet.distance.toFixed(1)} (${r.frechet.realFloor.toFixed(1)})` : '-';

/** The columns every form of the table shares, in order. */
function columns(rows: GuidanceSummaryRow[]) {
  const judged = rows.some((r) => r.accuracy);
  const withFrechet = rows.some((r) => r.frechet);
  return [
    ['method', (r: GuidanceSummaryRow) => r.method],
    ['strength', strength],
    ['target', (r: GuidanceSummaryRow) => r.target],
    ['images', (r: GuidanceSummaryRow) => String(r.images)],
    ['loss', (r: GuidanceSummaryRow) => interval(r.loss)],
    ...(judged
      ? [
          ['accuracy %', (r: GuidanceSummaryRow) => interval(r.accuracy, 3, 100)],
          ['p(target)', (r: GuidanceSummaryRow) => interval(r.targetProbability)],
        ]
      : []),
    ...(withFrechet ? [['FD (real)', frechet]] : []),
    ...(rows.some((r) => r.clipScore)
      ? [['CLIP score', (r: GuidanceSummaryRow) => interval(r.clipScore)]]
      : []),
    ['s / image', (r: GuidanceSummaryRow) => r.secondsPerImage.toFixed(2)],
    ['calls fwd + vjp', calls],
    ['step MiB', (r: GuidanceSummaryRow) => (r.stepPeakBytes / MIB).toFixed(1)],
  ] as [string, (r: GuidanceSummaryRow) => string][];
}

/** An aligned table for the terminal. */
export function guidanceSummaryTable(rows: GuidanceSummaryRow[]): string {
  const cols = columns(rows);
  return formatTextTable(
    cols.map(([name]) => name),
    rows.map((r) => cols.map(([, cell]) => cell(r))),
    3,
  );
}

/** The table as Markdown, with what its columns mean. */
export function guidanceSummaryMarkdown(rows: GuidanceSummaryRow[], context: string): string {
  const cols = columns(rows);
  // Padded columns: the table reads as text too (and is what prettier would write).
  const body = rows.map((r) => cols.map(([, cell]) => cell(r)));
  const widths = cols.map(([name], i) => Math.max(3, name.length, ...body.map((cells) => cells[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const lines = [line(cols.map(([name]) => name)), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const notes = [
    context,
    'Means with [95 % bootstrap intervals] that resample seeds, then images within each seed.',
    'loss: the final guidance loss. accuracy, p(target): the independent evaluator (not the guiding network).',
    "CLIP score: 100 cos(image, text) with the pipeline's CLIP model, against the clip guidance target or else the prompt.",
    'FD (real): Fréchet distance between evaluator features of the samples and of real images of the target class, with the distance of as many held-out real images in brackets (the floor at this sample size).',
    "s / image: sampling time per image (batches of the grid). calls: model evaluations each image went through (forward + VJP). step MiB: peak tensor memory of one guided step of a cell's batch.",
  ];
  return `${lines.join('\n')}\n\n${notes.join('\n')}\n`;
}

/** One CSV line per row, interval bounds as their own columns. */
export function guidanceSummaryCsv(rows: GuidanceSummaryRow[]): string {
  const triple = (m: MeanWithInterval | null) => (m ? [m.mean, m.low, m.high] : ['', '', '']);
  const header = [
    'method',
    'strength',
    'target',
    'n',
    'repeats',
    'images',
    'seeds',
    'loss',
    'loss_low',
    'loss_high',
    'accuracy',
    'accuracy_low',
    'accuracy_high',
    'p_target',
    'p_target_low',
    'p_target_high',
    'frechet',
    'frechet_real_floor',
    'clip_score',
    'clip_score_low',
    'clip_score_high',
    'seconds_per_image',
    'forward_calls',
    'vjp_calls',
    'step_peak_bytes',
  ];
  const quote = (v: unknown) => {
    const text = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const body = rows.map((r) =>
    [
      r.method,
      r.strength,
      r.target,
      r.n,
      r.repeats,
      r.images,
      r.seeds,
      ...triple(r.loss),
      ...triple(r.accuracy),
      ...triple(r.targetProbability),
      r.frechet?.distance ?? '',
      r.frechet?.realFloor ?? '',
      ...triple(r.clipScore),
      r.secondsPerImage,
      r.networkCalls.forward,
      r.networkCalls.vjp,
      r.stepPeakBytes,
    ]
      .map(quote)
      .join(','),
  );
  return [header.join(','), ...body].join('\n') + '\n';
}
