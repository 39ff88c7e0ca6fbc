import { shownValue } from './invalidOption';
import { OptionSpec, defineOption } from './optionSpec';

/** Estimate steps per guided step: fixed (`4`) or adaptive, linear from `from` to `to` over the window. */
export type StepCount = number | { from: number; to: number };

/**
 * The most estimate steps per guided step: each one is a network evaluation forward and one backward at every
 * guided step (the paper's runs use 1 to 10), so a larger n multiplies a run's time without a use.
 */
export const MAX_ESTIMATE_STEPS = 100;

const EXPECTED = `expected an integer from 1 to ${MAX_ESTIMATE_STEPS} or a schedule { from, to } of such integers ('6:1' on the command line; each step costs a network evaluation forward and back at every guided step)`;

const isCount = (v: unknown) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_ESTIMATE_STEPS;

export function stepCountProblem(value: unknown): string | null {
  if (isCount(value)) return null;
  if (typeof value === 'object' && value !== null) {
    const { from, to } = value as { from?: unknown; to?: unknown };
    if (isCount(from) && isCount(to) && Object.keys(value).length === 2) return null;
  }
  return `${EXPECTED}, got ${shownValue(value)}`;
}

/** `4` or `6:1`. */
export function parseStepCount(text: string): StepCount {
  const parts = text.split(':').map((s) => (s.trim() === '' ? NaN : Number(s)));
  const value = parts.length === 2 ? { from: parts[0], to: parts[1] } : parts.length === 1 ? parts[0] : NaN;
  if (stepCountProblem(value))
    throw new Error(
      `expected an integer from 1 to ${MAX_ESTIMATE_STEPS} or 'from:to' (e.g. 6:1), got ${shownValue(text)}`,
    );
  return value;
}

export function formatStepCount(n: StepCount): string {
  return typeof n === 'number' ? String(n) : `${n.from}:${n.to}`;
}

export function stepCountOption(fields: { help: string; default: StepCount }): OptionSpec<StepCount> {
  return defineOption<StepCount>({
    ...fields,
    valueName: '<n>',
    problem: stepCountProblem,
    parse: parseStepCount,
    show: formatStepCount,
    // Records written before options were typed hold the CLI's text.
    fromJson: (json) => (typeof json === 'string' ? parseStepCount(json) : checkedStepCount(json)),
  });
}

function checkedStepCount(json: unknown): StepCount {
  const problem = stepCountProblem(json);
  if (problem) throw new Error(problem);
  return json as StepCount;
}
