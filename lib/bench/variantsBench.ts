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
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, variant] of options.variants.entries()) {
      const output = await runSagProcess(command, [...options.args, ...(variant.args ?? [])], variant.env);
      const rows = options.rowsOf(JSON.parse(output) as Result, variant);
      for (const row of rows) {
        if (!times.has(row.operation))
          times.set(
            row.operation,
            options.variants.map(() => []),
          );
        (times.get(row.operation) as number[][])[i].push(row.ms);
      }
      options.onRun?.(variant, round, rows);
    }
  }
  return [...times].map(([operation, perVariant]) => ({ operation, ms: perVariant.map(median) }));
}

/** One run's progress line: `  round 2, <label>: forward 79 ms, ...`. */
export function formatRunLine(label: string, round: number, rows: TimedRow[]): string {
  return `  round ${round + 1}, ${label}: ${rows.map((r) => `${r.operation} ${r.ms.toFixed(0)} ms`).join(', ')}\n`;
}

/** Median ms per variant, and each later variant's speed-up over the first. */
export function formatVariantsBenchTable(labels: string[], rows: VariantsBenchRow[]): string {
  const speedups = labels.slice(1).map((label) => `${label} vs ${labels[0]}`);
  return formatTextTable(
    ['operation', ...labels.map((label) => `${label} ms`), ...speedups],
    rows.map((r) => [
      r.operation,
      ...r.ms.map((ms) => ms.toFixed(0)),
      ...r.ms.slice(1).map((ms) => `${(r.ms[0] / ms).toFixed(2)}x`),
    ]),
    1,
  );
}
