import { ButcherTableau, defineTableau } from '../ode/butcherTableau';
import { TABLEAUS } from '../ode/tableaus';
import { shownValue } from './invalidOption';
import { OptionSpec, defineOption } from './optionSpec';

const NAMES = Object.keys(TABLEAUS);
const EXPECTED = `expected one of ${NAMES.join(', ')} or a tableau { name, a, b, c }`;

/** null for a stock tableau or one that defineTableau accepts, else what is wrong with it. */
export function tableauProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return `${EXPECTED}, got ${shownValue(value)}`;
  const { name, a, b, c } = value as Partial<Record<'name' | 'a' | 'b' | 'c', unknown>>;
  if (typeof name !== 'string' || !Array.isArray(a) || !Array.isArray(b) || !Array.isArray(c))
    return `${EXPECTED}, got ${shownValue(value)}`;
  try {
    defineTableau({ name, a: a as number[][], b: b as number[], c: c as number[] });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function tableauNamed(name: string): ButcherTableau {
  const t = TABLEAUS[name.trim()];
  if (!t) throw new Error(`expected one of ${NAMES.join(', ')}, got ${shownValue(name)}`);
  return t;
}

/** The tableau option: a stock tableau by name on the command line, any valid tableau object from code. */
export function tableauOption(fields: { help: string; default: ButcherTableau }): OptionSpec<ButcherTableau> {
  return defineOption<ButcherTableau>({
    ...fields,
    help: `${fields.help} (${NAMES.join(', ')})`,
    valueName: '<name>',
    problem: tableauProblem,
    parse: tableauNamed,
    show: (t) => t.name,
    // A stock tableau is recorded by name; a user's own in full.
    toJson: (t) => (TABLEAUS[t.name] === t ? t.name : { name: t.name, a: t.a, b: t.b, c: t.c }),
    fromJson: (json) => {
      if (typeof json === 'string') return tableauNamed(json);
      const problem = tableauProblem(json);
      if (problem) throw new Error(problem);
      const { name, a, b, c } = json as { name: string; a: number[][]; b: number[]; c: number[] };
      return TABLEAUS[name] && sameTableau(TABLEAUS[name], json as ButcherTableau)
        ? TABLEAUS[name]
        : defineTableau({ name, a, b, c });
    },
  });
}

function sameTableau(x: ButcherTableau, y: ButcherTableau): boolean {
  return JSON.stringify([x.a, x.b, x.c]) === JSON.stringify([y.a, y.b, y.c]);
}
