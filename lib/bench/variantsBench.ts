import { ownSagCommand, runSagProcess } from '../sagProcess';
import { formatTextTable } from './textTable';
import { median } from './timing';

/** One way of running the same `sag bench ...` command: its label, environment and extra arguments. */
export interface BenchVariant {
  label: string;
  env?: Record<string, string>;
  args?: string[];
}

export interface TimedRow {
  operation: string;
  ms: number;
  /** Peak memory of the operation, where the benchmark measures it. */
  peakMiB?: number;
}

export interface VariantsBenchOptions<Result> {
  variants: BenchVariant[];
  /** The `sag` arguments every variant runs (a benchmark with `--json`). */
  args: string[];
  /** Rounds; each round runs every variant once, in turn. */
  rounds: number;
  /** The timed rows of one run's JSON output (throws when the run did not do what its variant asked). */
  rowsOf: (result: Result, variant: BenchVariant) => TimedRow[];
  /** How to start `sag` again (default: this process's own command). */
  sagCommand?: string[];
  onRun?: (variant: BenchVariant, round: number, rows: TimedRow[]) => void;
}

export interface VariantsBenchRow {
  operation: string;
  /** Median ms over the rounds, per variant (in the order of `variants`). */
  ms: number[];
  /** Median peak MiB per variant, where the benchmark measures it. */
  peakMiB?: number[];
}

/**
 * A `sag bench ... --json` command once per variant in its own process (a process starts its backend once), the
 * variants taking turns round by round so that all see the same machine load; medians over the rounds.
 */
export async function runVariantsBench<Result>(
  options: VariantsBenchOptions<Result>,
): Promise<VariantsBenchRow[]> {
  const command = options.sagCommand ?? ownSagCommand();
  const times = new Map<string, number[][]>();
  const peaks = new Map<string, number[][]>();
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, variant] of options.variants.entries()) {
      const output = await runSagProcess(command, [...options.args, ...(variant.args ?? [])], variant.env);
      const rows = options.rowsOf(JSON.parse(output) as Result, variant);
      const record = (map: Map<string, number[][]>, operation: string, value: number) => {
        if (!map.has(operation))
          map.set(
            operation,
            options.variants.map(() => []),
          );
        (map.get(operation) as number[][])[i].push(value);
      };
      for (const row of rows) {
        record(times, row.operation, row.ms);
        if (row.peakMiB !== undefined) record(peaks, row.operation, row.peakMiB);
      }
      options.onRun?.(variant, round, rows);
    }
  }
  return [...times].map(([operation, perVariant]) => {
    const peak = peaks.get(operation);
    return { operation, ms: perVariant.map(median), ...(peak ? { peakMiB: peak.map(median) } : {}) };
  });
}

/** One run's progress line: `  round 2, <label>: forward 79 ms, ...`. */
export function formatRunLine(label: string, round: number, rows: TimedRow[]): string {
  return `  round ${round + 1}, ${label}: ${rows.map((r) => `${r.operation} ${r.ms.toFixed(0)} ms`).join(', ')}\n`;
}

/** Median ms per variant, and each later variant's speed-up over the first; peak MiB per variant where measured. */
export function formatVariantsBenchTable(labels: string[], rows: VariantsBenchRow[]): string {
  const speedups = labels.slice(1).map((label) => `${label} vs ${labels[0]}`);
  const withPeaks = rows.some((r) => r.peakMiB);
  return formatTextTable(
    [
      'operation',
      ...labels.map((label) => `${label} ms`),
      ...speedups,
      ...(withPeaks ? labels.map((label) => `${label} peak MiB`) : []),
    ],
    rows.map((r) => [
      r.operation,
      ...r.ms.map((ms) => ms.toFixed(0)),
      ...r.ms.slice(1).map((ms) => `${(r.ms[0] / ms).toFixed(2)}x`),
      ...(withPeaks ? labels.map((_, i) => (r.peakMiB ? r.peakMiB[i].toFixed(1) : '')) : []),
    ]),
    1,
  );
}
