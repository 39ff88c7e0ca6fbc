import { shownValue } from './invalidOption';
import { OptionSpec, defineOption } from './optionSpec';

/** The guided main steps: all, none, or the inclusive range of main-step indices start..end. */
export type GuidanceWindow = 'all' | 'none' | { start: number; end: number };

const EXPECTED =
  "expected 'all', 'none' or a range { start, end } of main-step indices ('30..69' on the command line)";

const isIndex = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function windowProblem(value: unknown): string | null {
  if (value === 'all' || value === 'none') return null;
  if (typeof value === 'object' && value !== null) {
    const { start, end } = value as { start?: unknown; end?: unknown };
    if (isIndex(start) && isIndex(end)) {
      if ((start as number) > (end as number))
        return `${start}..${end} is reversed (expected start <= end, e.g. ${end}..${start})`;
      return null;
    }
  }
  return `${EXPECTED}, got ${shownValue(value)}`;
}

/** `30..69` (also `30:69`, `30-69`), `all` or `none`. */
export function parseWindow(text: string): GuidanceWindow {
  const trimmed = text.trim();
  if (trimmed === 'all' || trimmed === 'none') return trimmed;
  const m = /^(\d+)\s*(?:\.\.|:|-)\s*(\d+)$/.exec(trimmed);
  if (!m)
    throw new Error(`expected 'start..end' (main-step indices), 'all' or 'none', got ${shownValue(text)}`);
  const window = { start: Number(m[1]), end: Number(m[2]) };
  const problem = windowProblem(window);
  if (problem) throw new Error(problem);
  return window;
}

export function formatWindow(window: GuidanceWindow): string {
  return typeof window === 'string' ? window : `${window.start}..${window.end}`;
}

/**
 * The window as inclusive main-step indices for `steps` main steps ('none' is the empty range 1..0); null when it
 * does not fit inside them.
 */
export function windowRange(window: GuidanceWindow, steps: number): { start: number; end: number } | null {
  if (window === 'all') return { start: 0, end: steps - 1 };
  if (window === 'none') return { start: 1, end: 0 };
  return window.end < steps ? { start: window.start, end: window.end } : null;
}

export function windowOption(fields: { help: string; default: GuidanceWindow }): OptionSpec<GuidanceWindow> {
  return defineOption<GuidanceWindow>({
    ...fields,
    valueName: '<range>',
    problem: windowProblem,
    parse: parseWindow,
    show: formatWindow,
    toJson: formatWindow,
    fromJson: (json) => {
      if (typeof json === 'string') return parseWindow(json);
      const problem = windowProblem(json);
      if (problem) throw new Error(problem);
      return json as GuidanceWindow;
    },
  });
}
