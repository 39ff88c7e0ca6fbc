import { shownValue } from './invalidOption';
import { OptionSpec, defineOption } from './optionSpec';

/** [height, width] in pixels, or null for the model's own size. */
export type ImageSize = [number, number] | null;

const EXPECTED = "expected [height, width] in pixels, positive integers ('H' or 'HxW' on the command line)";

export function sizeProblem(value: unknown): string | null {
  if (value === null) return null;
  const side = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  return Array.isArray(value) && value.length === 2 && value.every(side)
    ? null
    : `${EXPECTED}, got ${shownValue(value)}`;
}

/** `64` (square) or `HxW`. */
export function parseSize(text: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/.exec(text.trim());
  const size: [number, number] | null = m ? [Number(m[1]), Number(m[2] ?? m[1])] : null;
  if (!size || sizeProblem(size))
    throw new Error(`expected N or HxW (pixels, positive integers), got ${shownValue(text)}`);
  return size;
}

export function sizeOption(fields: { help: string }): OptionSpec<ImageSize> {
  return defineOption<ImageSize>({
    ...fields,
    valueName: '<HxW>',
    default: null,
    problem: sizeProblem,
    parse: parseSize,
    show: (s) => (s ? `${s[0]}x${s[1]}` : "the model's"),
  });
}
