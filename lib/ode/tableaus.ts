import { InvalidOptionError } from '../options/invalidOption';
import { ButcherTableau, defineTableau } from './butcherTableau';

export const EULER = defineTableau({ name: 'euler', a: [[]], b: [1], c: [0] });

export const HEUN = defineTableau({ name: 'heun', a: [[], [1]], b: [0.5, 0.5], c: [0, 1] });

export const MIDPOINT = defineTableau({ name: 'midpoint', a: [[], [0.5]], b: [0, 1], c: [0, 0.5] });

export const RK4 = defineTableau({
  name: 'rk4',
  a: [[], [0.5], [0, 0.5], [0, 0, 1]],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
  c: [0, 0.5, 0.5, 1],
});

export const TABLEAUS: Readonly<Record<string, ButcherTableau>> = Object.freeze({
  euler: EULER,
  heun: HEUN,
  midpoint: MIDPOINT,
  rk4: RK4,
});

export function tableauByName(name: string): ButcherTableau {
  const t = TABLEAUS[name];
  if (!t)
    throw new InvalidOptionError(
      'tableau',
      `expected one of ${Object.keys(TABLEAUS).join(', ')}, got '${name}'`,
    );
  return t;
}
