import { InvalidOptionError, shownValue } from './invalidOption';
import {
  DEFAULT_GENERATE_OPTIONS,
  GENERATE_OPTION_NAMES,
  GENERATE_OPTION_SPECS,
  GenerateOptionName,
  GenerateOptions,
} from './generateOptions';
import { LossKind, classIndexOf } from './lossOptions';
import { formatWindow, windowRange } from './windowOption';

/**
 * The options of one run: sag's defaults, under the model's recommendations, under what the caller gave
 * (undefined entries count as not given). Throws InvalidOptionError naming the first option that is unknown, has a
 * value it does not accept, or contradicts another option.
 */
export function resolveGenerateOptions(
  given: Partial<GenerateOptions>,
  modelDefaults: Partial<GenerateOptions> = {},
): GenerateOptions {
  for (const key of Object.keys(given))
    if (!(key in GENERATE_OPTION_SPECS))
      throw new InvalidOptionError(
        key,
        `not a generation option (options: ${GENERATE_OPTION_NAMES.join(', ')})`,
      );
  const o = { ...DEFAULT_GENERATE_OPTIONS, ...definedOnly(modelDefaults), ...definedOnly(given) };
  for (const key of GENERATE_OPTION_NAMES) {
    const problem = GENERATE_OPTION_SPECS[key].problem(o[key]);
    if (problem) throw new InvalidOptionError(key, problem);
  }
  assertConsistent(o);
  return o;
}

/** The checks that involve two options. */
function assertConsistent(o: GenerateOptions): void {
  if (!windowRange(o.window, o.steps))
    throw new InvalidOptionError(
      'window',
      `${formatWindow(o.window)} is not inside main steps 0..${o.steps - 1} (steps is ${o.steps})`,
    );
  const uses = (...kinds: LossKind[]) => kinds.some((k) => o.guidance.includes(k));
  const guidanceText = o.guidance.length ? `guidance ${o.guidance.join(',')}` : 'no guidance';
  // Reference options only mean something for the losses that read them; without such a loss they would be
  // silently ignored.
  if (o.target !== null && !uses('class', 'clip'))
    throw new InvalidOptionError(
      'target',
      `${shownValue(o.target)} is only used by guidance class or clip (got ${guidanceText})`,
    );
  if (o.style !== null && !uses('style'))
    throw new InvalidOptionError(
      'style',
      `${shownValue(o.style)} is only used by guidance style (got ${guidanceText})`,
    );
  if (o.ref.length > 0 && !uses('object', 'face'))
    throw new InvalidOptionError(
      'ref',
      `${shownValue(o.ref[0])} is only used by guidance object or face (got ${guidanceText})`,
    );
  if (uses('style') && o.style === null)
    throw new InvalidOptionError('style', 'guidance style needs a style reference image');
  if (uses('face') && o.ref.length === 0)
    throw new InvalidOptionError('ref', 'guidance face needs a face image');
  if (uses('object') && o.ref.length === 0)
    throw new InvalidOptionError('ref', 'guidance object needs at least one reference image');
  if (uses('class') && classIndexOf(o.target) === null)
    throw new InvalidOptionError(
      'target',
      `guidance class needs a class index (an integer >= 0), got ${o.target === null ? 'none' : `'${o.target}'`}`,
    );
  for (const kind of Object.keys(o.lossWeights) as LossKind[])
    if (!o.guidance.includes(kind))
      throw new InvalidOptionError(
        'lossWeights',
        `weights ${kind}, which is not in guidance (${guidanceText})`,
      );
}

function definedOnly(options: Partial<GenerateOptions>): Partial<GenerateOptions> {
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<GenerateOptions>;
}

export type { GenerateOptionName };
