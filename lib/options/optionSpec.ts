import { shownValue } from './invalidOption';

/**
 * Everything sag knows about one option: its value type V, default, help text, how the CLI's text becomes a value,
 * how the library checks a value it is handed, and its JSON form in reports and PNG records. The CLI flags, the
 * library's validation, the defaults and the report keys are all derived from a table of these.
 */
export interface OptionSpec<V> {
  /** The flag's value in help, e.g. `<n>`; a trailing `...` takes several values. */
  readonly valueName: string;
  readonly help: string;
  readonly default: V;
  /** CLI text to a value; throws an Error whose message says what was expected. */
  parse(text: string): V;
  /** null when `value` is acceptable, else what was expected (`expected an integer >= 1, got 0`). */
  problem(value: unknown): string | null;
  /** The value as JSON (reports, PNG records). */
  toJson(value: V): unknown;
  /** A value from its JSON form (also older records' forms); throws like `parse`. */
  fromJson(json: unknown): V;
  /** The value as the help text shows a default. */
  show(value: V): string;
}

type SpecFields<V> = Pick<OptionSpec<V>, 'valueName' | 'help' | 'default' | 'parse' | 'problem'> &
  Partial<Pick<OptionSpec<V>, 'toJson' | 'fromJson' | 'show'>>;

/** An OptionSpec whose JSON form is the value itself unless told otherwise. */
export function defineOption<V>(fields: SpecFields<V>): OptionSpec<V> {
  const fromJson =
    fields.fromJson ??
    ((json: unknown): V => {
      const problem = fields.problem(json);
      if (problem) throw new Error(problem);
      return json as V;
    });
  return {
    toJson: (v) => v,
    show: (v) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v)),
    ...fields,
    fromJson,
  };
}

function expected(what: string, value: unknown): string {
  return `expected ${what}, got ${shownValue(value)}`;
}

export function integerOption(
  fields: { valueName: string; help: string; default: number },
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): OptionSpec<number> {
  const what = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
  const problem = (v: unknown) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? null : expected(what, v);
  return defineOption({
    ...fields,
    problem,
    parse: (text) => checked(text.trim() === '' ? NaN : Number(text), problem, text),
    show: String,
  });
}

/** A finite number >= min (or > min when `exclusive`), optionally <= max. */
export function numberOption(
  fields: { valueName: string; help: string; default: number },
  bounds: { min: number; exclusive?: boolean; max?: number },
): OptionSpec<number> {
  const { min, exclusive = false, max = Infinity } = bounds;
  const what =
    max === Infinity
      ? `a number ${exclusive ? '>' : '>='} ${min}`
      : `a number in ${exclusive ? '(' : '['}${min}, ${max}]`;
  const problem = (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) && (exclusive ? v > min : v >= min) && v <= max
      ? null
      : expected(what, v);
  return defineOption({
    ...fields,
    problem,
    parse: (text) => checked(text.trim() === '' ? NaN : Number(text), problem, text),
    show: String,
  });
}

export function choiceOption<C extends string>(
  fields: { valueName: string; help: string; default: C },
  choices: readonly C[],
): OptionSpec<C> {
  const problem = (v: unknown) =>
    typeof v === 'string' && (choices as readonly string[]).includes(v)
      ? null
      : expected(`one of ${choices.join(', ')}`, v);
  return defineOption({
    ...fields,
    help: `${fields.help} (${choices.join(', ')})`,
    problem,
    parse: (text) => checked(text.trim(), problem, text) as C,
    show: String,
  });
}

/** Free text (prompts). */
export function textOption(fields: { valueName: string; help: string }): OptionSpec<string> {
  return defineOption({
    ...fields,
    default: '',
    problem: (v) => (typeof v === 'string' ? null : expected('text', v)),
    parse: (text) => text,
  });
}

/** A file path, or null when not given. */
export function pathOption(fields: { valueName: string; help: string }): OptionSpec<string | null> {
  return defineOption<string | null>({
    ...fields,
    default: null,
    problem: (v) => (v === null || (typeof v === 'string' && v !== '') ? null : expected('a file path', v)),
    parse: (text) => {
      if (text === '') throw new Error(expected('a file path', text));
      return text;
    },
    show: (v) => v ?? 'none',
  });
}

/** `value` when `problem` accepts it, else an Error saying what was expected and showing the CLI's text. */
function checked<V>(value: V, problem: (v: unknown) => string | null, text: string): V {
  const p = problem(value);
  if (p) throw new Error(p.replace(/got .*$/, `got ${shownValue(text)}`));
  return value;
}
