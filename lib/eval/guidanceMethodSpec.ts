import { GUIDANCE_METHODS, GuidanceMethod } from '../guidance/guidanceSettings';
import { GenerateOptionName, GenerateOptions, optionSpec } from '../options/generateOptions';

/** A guidance method of an evaluation grid with its own settings, e.g. `sag:n=4:grad=direct`. */
export interface GuidanceMethodSpec {
  /** The spec as text (without its strengths), as reports and plots name it. */
  label: string;
  method: GuidanceMethod;
  /** `method` and the settings given after it. */
  options: Partial<GenerateOptions>;
  /** This method's own strengths instead of the grid's (its step size means something else, e.g. UG's). */
  strengths?: number[];
}

/** The settings a method spec may carry, each parsed like its `generate` flag, and its own strengths. */
const METHOD_SETTINGS = ['n', 'tableau', 'grad', 'grid', 'repeats', 'strengths'] as const;
/** Settings of the n-step estimate: FreeDoM and UG use the one-step estimate. */
const SAG_ONLY = new Set<string>(['n', 'tableau', 'grad', 'grid']);

/**
 * Parses `method[:setting=value]...`: `none`, `freedom`, `freedom:repeats=4`, `ug`, `sag:n=2`,
 * `sag:n=4:tableau=rk4:grad=direct`, `sag:n=6:1`, `ug:strengths=0.01/0.04` (its own strengths). Throws an Error naming `flag` and what was expected.
 */
export function parseGuidanceMethod(text: string, flag = '--methods'): GuidanceMethodSpec {
  // A setting starts at a ':' followed by `key=`; the values themselves may hold ':' (n=6:1, adaptive).
  const [name, ...settings] = text.trim().split(/:(?=[a-z]+=)/);
  if (!(GUIDANCE_METHODS as readonly string[]).includes(name))
    throw new Error(`${flag}: expected a method among ${GUIDANCE_METHODS.join(', ')}, got '${name}'`);
  const method = name as GuidanceMethod;
  const options: Record<string, unknown> = { method };
  let strengths: number[] | undefined;
  const labelParts = [name];
  for (const setting of settings) {
    const [key, value, ...rest] = setting.split('=');
    if (value === undefined || rest.length > 0 || !(METHOD_SETTINGS as readonly string[]).includes(key))
      throw new Error(
        `${flag}: '${text}': expected settings of the form ${METHOD_SETTINGS.map((k) => `${k}=...`).join(', ')}, got '${setting}'`,
      );
    if (SAG_ONLY.has(key) && method !== 'sag')
      throw new Error(
        `${flag}: '${text}': ${key} applies to sag only (${method} uses the one-step estimate)`,
      );
    if (key === 'repeats' && method === 'none')
      throw new Error(`${flag}: '${text}': repeats (time travel) applies to guided methods only`);
    if (key in options || (key === 'strengths' && strengths))
      throw new Error(`${flag}: '${text}': ${key} is given twice`);
    if (key === 'strengths') {
      if (method === 'none') throw new Error(`${flag}: '${text}': the unguided method has no strength`);
      strengths = value.split('/').map(Number);
      if (value === '' || strengths.some((v) => !Number.isFinite(v) || v < 0))
        throw new Error(`${flag}: '${text}': expected strengths=a/b/..., numbers >= 0, got '${value}'`);
      continue;
    }
    try {
      options[key] = optionSpec(key as GenerateOptionName).parse(value);
    } catch (error) {
      throw new Error(`${flag}: '${text}': ${key}: ${(error as Error).message}`);
    }
    labelParts.push(setting);
  }
  return {
    label: labelParts.join(':'),
    method,
    options: options as Partial<GenerateOptions>,
    ...(strengths ? { strengths } : {}),
  };
}

/** A comma-separated list of method specs; labels must differ. */
export function parseGuidanceMethods(text: string, flag = '--methods'): GuidanceMethodSpec[] {
  const specs = text.split(',').map((item) => parseGuidanceMethod(item, flag));
  const labels = specs.map((s) => s.label);
  const repeated = labels.find((label, i) => labels.indexOf(label) !== i);
  if (repeated !== undefined) throw new Error(`${flag}: '${repeated}' is listed twice`);
  return specs;
}
