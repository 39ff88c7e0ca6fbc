import { shownValue } from './invalidOption';
import { OptionSpec, defineOption } from './optionSpec';

export const LOSS_KINDS = ['style', 'clip', 'object', 'face', 'aesthetic', 'class'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

const isLossKind = (v: unknown): v is LossKind => (LOSS_KINDS as readonly unknown[]).includes(v);

/** The losses that guide a run: a subset of LOSS_KINDS (empty: unguided). */
export function lossKindsOption(fields: { help: string }): OptionSpec<LossKind[]> {
  const problem = (v: unknown) =>
    Array.isArray(v) && v.every(isLossKind) && new Set(v).size === v.length
      ? null
      : `expected a list of distinct loss kinds (${LOSS_KINDS.join(', ')}), got ${shownValue(v)}`;
  return defineOption<LossKind[]>({
    ...fields,
    valueName: '<kinds>',
    default: [],
    problem,
    parse: (text) => {
      const kinds = text.split(',').map((s) => s.trim());
      const bad = kinds.find((k) => !isLossKind(k));
      if (bad !== undefined)
        throw new Error(`expected a comma-separated subset of ${LOSS_KINDS.join(', ')}, got '${bad}'`);
      return [...new Set(kinds)] as LossKind[];
    },
    show: (v) => (v.length ? v.join(',') : 'unguided'),
  });
}

export type LossWeights = Partial<Record<LossKind, number>>;

/** Weight of each loss in the sum; `style=1,clip=0.1` on the command line. */
export function lossWeightsOption(fields: { help: string }): OptionSpec<LossWeights> {
  const expectation = `expected kind=weight pairs with finite weights (kinds: ${LOSS_KINDS.join(', ')})`;
  const problem = (v: unknown) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.entries(v).every(([k, w]) => isLossKind(k) && typeof w === 'number' && Number.isFinite(w))
      ? null
      : `${expectation}, got ${shownValue(v)}`;
  return defineOption<LossWeights>({
    ...fields,
    valueName: '<pairs>',
    default: {},
    problem,
    parse: (text) => {
      const weights: LossWeights = {};
      for (const part of text.split(',')) {
        const [k, w] = part.split('=');
        if (!isLossKind(k) || w === undefined || w.trim() === '' || !Number.isFinite(Number(w)))
          throw new Error(`${expectation}, got '${part}'`);
        weights[k] = Number(w);
      }
      return weights;
    },
    show: (v) =>
      Object.keys(v).length
        ? Object.entries(v)
            .map(([k, w]) => `${k}=${w}`)
            .join(',')
        : '1 each',
  });
}

/** Reference images: the object loss's, or the face of face ID (the first one). */
export function imageListOption(fields: { help: string }): OptionSpec<string[]> {
  const problem = (v: unknown) =>
    Array.isArray(v) && v.every((f) => typeof f === 'string' && f !== '')
      ? null
      : `expected a list of image files, got ${shownValue(v)}`;
  return defineOption<string[]>({
    ...fields,
    valueName: '<image...>',
    default: [],
    problem,
    parse: (text) => {
      if (text === '') throw new Error(`expected an image file, got ''`);
      return [text];
    },
    show: (v) => (v.length ? v.join(' ') : 'none'),
  });
}

/** The CLIP loss's text, or the class index of class guidance; null when not given. */
export type GuidanceTarget = string | number | null;

export function targetOption(fields: { help: string }): OptionSpec<GuidanceTarget> {
  return defineOption<GuidanceTarget>({
    ...fields,
    valueName: '<value>',
    default: null,
    problem: (v) =>
      v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))
        ? null
        : `expected a text or a class index, got ${shownValue(v)}`,
    parse: (text) => text,
    show: (v) => (v === null ? 'none' : String(v)),
  });
}

/** The class index a target names, or null when it is not a non-negative integer. */
export function classIndexOf(target: GuidanceTarget): number | null {
  if (target === null || (typeof target === 'string' && target.trim() === '')) return null;
  const index = Number(target);
  return Number.isInteger(index) && index >= 0 ? index : null;
}
